import { saveStandaloneResult } from "./results.ts";
import { jsonShapeEntries, sameJsonStructure } from "../lib/json-shape.ts";
import type { JsonValue } from "../lib/json-value.ts";
import { benchMessage } from "./collector.ts";

/**
 * The JSON shape ingest records per row (for event_type_fields), on the collector benchmark's
 * 1 KB events: built for every row (as ingest did) against compared with the event type's previous
 * value and built only when the structure differs (as it does now), taking turns in one process, CPU µs per row (GC included).
 *
 *   npx tsx bench/json-shape.ts [--rows N] [--rounds R] [--no-save]
 */

const args = process.argv.slice(2);
const flag = (name: string) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : undefined;
};
const rows = flag("--rows") ?? 50_000;
const rounds = flag("--rounds") ?? 6;
const values = Array.from({ length: rows }, (_, i) => JSON.parse(benchMessage(i).value.toString("utf8")) as JsonValue);

const perRow = (entries: readonly string[]) => entries.join("\n");
const variants: Record<string, (value: JsonValue) => string> = {
  "built per row": (value) => perRow(jsonShapeEntries(value)),
  "same as the type's last value": (() => {
    const last = new Map<string, { value: JsonValue; shape: string }>();
    return (value: JsonValue) => {
      const type = (value as { type: string }).type;
      const known = last.get(type);
      if (known && sameJsonStructure(known.value, value)) return known.shape;
      const shape = perRow(jsonShapeEntries(value));
      last.set(type, { value, shape });
      return shape;
    };
  })(),
};

const samples: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
let sink = 0;
for (let round = 0; round < rounds; round++) {
  for (const [name, shapeOf] of Object.entries(variants)) {
    const start = process.cpuUsage();
    for (const value of values) sink += shapeOf(value).length;
    const used = process.cpuUsage(start);
    samples[name]!.push((used.user + used.system) / rows);
  }
}
const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!;
const result = Object.fromEntries(Object.entries(samples).map(([name, list]) => [name, { medianMicrosPerRow: Math.round(median(list) * 100) / 100, rounds: list.map((v) => Math.round(v * 100) / 100) }]));
for (const [name, { medianMicrosPerRow, rounds: all }] of Object.entries(result)) {
  process.stdout.write(`${name}: ${medianMicrosPerRow} µs/row CPU (median of ${all.join(", ")})\n`);
}
if (sink === 0) process.stdout.write("(no shapes)\n");
if (!args.includes("--no-save")) saveStandaloneResult("json-shape", { rows, result }, (line) => process.stdout.write(`${line}\n`));
