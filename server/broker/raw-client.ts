/**
 * A hand-driven Kafka connection for tests: requests encoded with the broker's own protocol codec,
 * sent as raw frames, responses matched by correlation id. It sends what no client library would
 * (garbage, truncated frames, batches crafted with encodeRecordBatch). Node built-ins only.
 */
import net from "node:net";
import { decodeMessage, encodeMessage, isFlexible, Reader, Writer, type Message } from "./protocol/codec.ts";
import { fetch, produce } from "./protocol/messages.ts";
import type { MessageSpec } from "./protocol/types.ts";
import { waitFor } from "./process-support.ts";

export function encodeBody(spec: MessageSpec, version: number, body: Message): Buffer {
  const w = new Writer();
  encodeMessage(spec, version, body, w);
  return Buffer.concat(w.finish());
}

/** A whole request as it goes over the wire: size, header v1 (v2 for a flexible version: with tagged fields), body. */
export function requestFrame(apiKey: number, apiVersion: number, correlationId: number, body: Buffer, flexibleHeader = false): Buffer {
  const w = new Writer();
  w.int16(apiKey);
  w.int16(apiVersion);
  w.int32(correlationId);
  w.nullableString("robustness-test");
  if (flexibleHeader) w.uvarint(0);
  const header = Buffer.concat(w.finish());
  const size = Buffer.alloc(4);
  size.writeInt32BE(header.length + body.length);
  return Buffer.concat([size, header, body]);
}

/** A hand-driven Kafka connection: frames in, responses (correlation id + body) out. */
export class RawClient {
  private pending = Buffer.alloc(0);
  private readonly waiting = new Map<number, { resolve: (body: Buffer) => void; reject: (err: Error) => void }>();
  private nextCorrelationId = 1;
  closedByPeer = false;
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on("data", (d: Buffer) => this.onData(d));
    socket.on("error", () => {});
    this.closed = new Promise((resolve) =>
      socket.once("close", () => {
        this.closedByPeer = true;
        for (const w of this.waiting.values()) w.reject(new Error("connection closed before the response"));
        this.waiting.clear();
        resolve();
      }),
    );
  }

  static connect(address: string): Promise<RawClient> {
    const [host, port] = address.split(":") as [string, string];
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port: Number(port) }, () => resolve(new RawClient(socket)));
      socket.once("error", reject);
    });
  }

  private onData(d: Buffer): void {
    this.pending = Buffer.concat([this.pending, d]);
    while (this.pending.length >= 4) {
      const size = this.pending.readInt32BE(0);
      if (this.pending.length < 4 + size) return;
      const frame = this.pending.subarray(4, 4 + size);
      this.pending = this.pending.subarray(4 + size);
      const correlationId = frame.readInt32BE(0);
      const w = this.waiting.get(correlationId);
      this.waiting.delete(correlationId);
      w?.resolve(Buffer.from(frame.subarray(4)));
    }
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Sends one request and resolves with the body of the response carrying its correlation id. */
  request(apiKey: number, apiVersion: number, body: Buffer, flexibleHeader = false): Promise<Buffer> {
    const correlationId = this.nextCorrelationId++;
    const response = new Promise<Buffer>((resolve, reject) => {
      this.waiting.set(correlationId, { resolve, reject });
    });
    this.write(requestFrame(apiKey, apiVersion, correlationId, body, flexibleHeader));
    return response;
  }

  async call(spec: { request: MessageSpec; response: MessageSpec }, version: number, body: Message): Promise<Message> {
    const out = await this.request(spec.request.apiKey, version, encodeBody(spec.request, version, body), isFlexible(spec.request, version));
    const r = new Reader(out);
    // Response header v1 carries tagged fields, except for ApiVersions (always header v0).
    if (isFlexible(spec.response, version) && spec.response.apiKey !== 18) r.skipTaggedFields();
    const decoded = decodeMessage(spec.response, version, r);
    if (r.remaining !== 0) throw new Error(`${spec.response.name} v${version} has ${r.remaining} trailing bytes`);
    return decoded;
  }

  async waitClosed(what: string): Promise<void> {
    await waitFor(`the broker to close the connection after ${what}`, () => this.closedByPeer, { timeoutMs: 5_000 });
  }

  destroy(): void {
    this.socket.destroy();
  }
}


/** Produces one record batch as given (produce v7, acks all) to a partition; its base offset. */
export async function produceBatch(address: string, topic: string, partition: number, batch: Buffer): Promise<number> {
  const raw = await RawClient.connect(address);
  try {
    const response = await raw.call(produce, 7, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5_000,
      topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
    });
    const part = (response.responses as { partitionResponses: { errorCode: number; baseOffset: number }[] }[])[0]!.partitionResponses[0]!;
    if (part.errorCode !== 0) throw new Error(`produce to ${topic}-${partition} failed with error code ${part.errorCode}`);
    return part.baseOffset;
  } finally {
    raw.destroy();
  }
}

/** The raw record batches of a partition from `offset` on (fetch v4, one fetch): what is stored, codec and all. */
export async function fetchBatches(address: string, topic: string, partition: number, offset = 0): Promise<Buffer> {
  const raw = await RawClient.connect(address);
  try {
    const response = await raw.call(fetch, 4, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 16 * 1024 * 1024,
      isolationLevel: 0,
      topics: [{ topic, partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: 16 * 1024 * 1024 }] }],
    });
    const part = (response.responses as { partitions: { errorCode: number; records: Buffer | null }[] }[])[0]!.partitions[0]!;
    if (part.errorCode !== 0) throw new Error(`fetch from ${topic}-${partition} failed with error code ${part.errorCode}`);
    return part.records ?? Buffer.alloc(0);
  } finally {
    raw.destroy();
  }
}
