/**
 * The registry's storage with `--data-dir`: one JSON line per change, appended and fsynced before
 * the change is answered, replayed at start. A line torn by a crash mid-write (the last one, never
 * acknowledged) is cut off at start so that the next line starts clean.
 */
import fs from "node:fs";
import path from "node:path";

const FILE_NAME = "registry.jsonl";

export class Journal {
  private readonly fd: number;

  private constructor(
    readonly file: string,
    readonly entries: unknown[],
  ) {
    this.fd = fs.openSync(file, "a");
  }

  /** Opens (creating) `dataDir/registry.jsonl` and reads what it holds. */
  static open(dataDir: string): Journal {
    fs.mkdirSync(dataDir, { recursive: true });
    const file = path.join(dataDir, FILE_NAME);
    const content = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
    const entries: unknown[] = [];
    let intact = 0;
    for (let start = 0; start < content.length; ) {
      const end = content.indexOf("\n", start);
      if (end === -1) break; // torn last line
      try {
        entries.push(JSON.parse(content.slice(start, end)));
      } catch (err) {
        if (end + 1 < content.length) {
          // Not the last line: something else damaged the file; refuse rather than drop what follows.
          throw new Error(`${file}: line ${entries.length + 1} is not JSON (${(err as Error).message})`);
        }
        break;
      }
      start = intact = end + 1;
    }
    if (intact < content.length) fs.truncateSync(file, Buffer.byteLength(content.slice(0, intact)));
    return new Journal(file, entries);
  }

  /** Returns once the line is on disk. */
  append(entry: unknown): void {
    fs.writeSync(this.fd, `${JSON.stringify(entry)}\n`);
    fs.fsyncSync(this.fd);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
