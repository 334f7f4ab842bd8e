import type net from "node:net";
import { MalformedFrameError, Reader, Writer } from "./protocol/codec.ts";

/** Kafka's `socket.request.max.bytes`: a larger size prefix is garbage, not a request. */
export const MAX_FRAME_BYTES = 100 * 1024 * 1024;

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

/** What a handler answers: a body to send, or `null` for no response at all (acks=0). */
export type HandlerResult = Writer | null;

export type FrameHandler = (conn: Connection, header: RequestHeader, body: Reader) => HandlerResult | Promise<HandlerResult>;

/**
 * One client connection. Frames are handled strictly one after another, and responses go out in
 * request order, as Kafka guarantees per connection (clients such as librdkafka rely on it).
 */
export class Connection {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private queue: Buffer[] = [];
  private busy = false;
  private closed = false;
  /** Per-connection state owned by the request handlers (SASL progress, the authenticated user). */
  authenticatedUser: string | null = null;
  saslState: unknown = null;
  /** `name version` from ApiVersions v3+, when the client sent it. */
  clientSoftware: string | null = null;

  constructor(
    readonly socket: net.Socket,
    readonly id: string,
    private readonly handle: FrameHandler,
    private readonly log: (line: string) => void,
  ) {
    socket.setNoDelay(true);
    socket.on("data", (data: Buffer) => this.onData(data));
    socket.on("error", (err) => this.log(`connection ${this.id}: ${err.message}`));
    socket.on("close", () => {
      this.closed = true;
      if (this.buffered > 0) this.log(`connection ${this.id} closed with ${this.buffered} bytes of an incomplete frame`);
    });
  }

  get remoteHost(): string {
    return this.socket.remoteAddress ?? "unknown";
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private onData(data: Buffer): void {
    this.chunks.push(data);
    this.buffered += data.length;
    while (this.buffered >= 4) {
      const head = this.chunks[0]!.length >= 4 ? this.chunks[0]! : this.take(4, false);
      const size = head.readInt32BE(0);
      if (size < 8 || size > MAX_FRAME_BYTES) {
        this.abort(`invalid frame size ${size}`);
        return;
      }
      if (this.buffered < 4 + size) break;
      const frame = this.take(4 + size, true).subarray(4);
      this.queue.push(frame);
    }
    this.pump();
  }

  /** The first `n` buffered bytes as one buffer; consumed when `consume`. */
  private take(n: number, consume: boolean): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) out = first.subarray(0, n);
    else {
      out = Buffer.allocUnsafe(n);
      let copied = 0;
      for (const c of this.chunks) {
        const k = Math.min(c.length, n - copied);
        c.copy(out, copied, 0, k);
        copied += k;
        if (copied === n) break;
      }
    }
    if (consume) {
      let left = n;
      while (left > 0) {
        const c = this.chunks[0]!;
        if (c.length <= left) {
          this.chunks.shift();
          left -= c.length;
        } else {
          this.chunks[0] = c.subarray(left);
          left = 0;
        }
      }
      this.buffered -= n;
    }
    return out;
  }

  private pump(): void {
    while (!this.busy && !this.closed && this.queue.length > 0) {
      const frame = this.queue.shift()!;
      let header: RequestHeader;
      let result: HandlerResult | Promise<HandlerResult>;
      try {
        const r = new Reader(frame);
        header = { apiKey: r.int16(), apiVersion: r.int16(), correlationId: r.int32(), clientId: r.nullableString() };
        result = this.handle(this, header, r);
      } catch (err) {
        this.fail(err);
        return;
      }
      if (result instanceof Promise) {
        this.busy = true;
        const correlationId = header.correlationId;
        result.then(
          (body) => {
            this.busy = false;
            this.send(correlationId, body);
            this.pump();
          },
          (err: unknown) => this.fail(err),
        );
        return;
      }
      this.send(header.correlationId, result);
    }
  }

  private send(correlationId: number, body: HandlerResult): void {
    if (body === null || this.closed) return;
    const chunks = body.finish();
    const head = Buffer.allocUnsafe(8);
    head.writeInt32BE(4 + body.length, 0);
    head.writeInt32BE(correlationId, 4);
    this.socket.cork();
    this.socket.write(head);
    for (const c of chunks) this.socket.write(c);
    this.socket.uncork();
  }

  private fail(err: unknown): void {
    if (err instanceof MalformedFrameError) this.abort(err.message);
    else {
      this.log(`connection ${this.id}: internal error: ${err instanceof Error ? err.stack : String(err)}`);
      this.abort("internal error while handling a request");
    }
  }

  /** Closes this connection only; every other client keeps being served. */
  abort(reason: string): void {
    if (this.closed) return;
    this.log(`closing connection ${this.id} from ${this.remoteHost}: ${reason}`);
    this.closed = true;
    this.queue = [];
    this.chunks = [];
    this.buffered = 0;
    this.socket.destroy();
  }
}
