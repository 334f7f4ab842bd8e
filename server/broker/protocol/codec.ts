import { inRange, parseVersionRange, type FieldSpec, type MessageSpec, type VersionRange } from "./types.ts";

/** Thrown when bytes from a client do not match the layout they claim. The connection is closed. */
export class MalformedFrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MalformedFrameError";
  }
}

export class Reader {
  offset: number;
  constructor(
    readonly buf: Buffer,
    offset = 0,
  ) {
    this.offset = offset;
  }

  get remaining(): number {
    return this.buf.length - this.offset;
  }

  private need(n: number): number {
    const at = this.offset;
    if (n < 0 || at + n > this.buf.length) {
      throw new MalformedFrameError(`frame truncated: needed ${n} bytes at ${at}, have ${this.buf.length - at}`);
    }
    this.offset = at + n;
    return at;
  }

  int8(): number {
    return this.buf.readInt8(this.need(1));
  }
  int16(): number {
    return this.buf.readInt16BE(this.need(2));
  }
  int32(): number {
    return this.buf.readInt32BE(this.need(4));
  }
  uint32(): number {
    return this.buf.readUInt32BE(this.need(4));
  }
  int64(): number {
    const at = this.need(8);
    return this.buf.readInt32BE(at) * 4294967296 + this.buf.readUInt32BE(at + 4);
  }
  float64(): number {
    return this.buf.readDoubleBE(this.need(8));
  }
  bool(): boolean {
    return this.buf[this.need(1)] !== 0;
  }
  uuid(): Buffer {
    const at = this.need(16);
    return this.buf.subarray(at, at + 16);
  }
  nullableString(): string | null {
    const len = this.int16();
    if (len === -1) return null;
    if (len < -1) throw new MalformedFrameError(`invalid string length ${len}`);
    const at = this.need(len);
    return this.buf.toString("utf8", at, at + len);
  }
  /** A slice of the frame, not a copy: valid as long as the frame buffer is. */
  nullableBytes(): Buffer | null {
    const len = this.int32();
    if (len === -1) return null;
    if (len < -1) throw new MalformedFrameError(`invalid bytes length ${len}`);
    const at = this.need(len);
    return this.buf.subarray(at, at + len);
  }
  /** Unsigned varint (KIP-482's lengths and tag numbers). */
  uvarint(): number {
    let value = 0;
    let shift = 0;
    for (;;) {
      const b = this.buf[this.need(1)]!;
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return value;
      shift += 7;
      if (shift > 28) throw new MalformedFrameError("unsigned varint longer than 5 bytes");
    }
  }
  /** Compact (flexible-version) string: length + 1 as an unsigned varint, 0 for null. */
  compactString(): string | null {
    const n = this.uvarint() - 1;
    if (n === -1) return null;
    const at = this.need(n);
    return this.buf.toString("utf8", at, at + n);
  }
  compactBytes(): Buffer | null {
    const n = this.uvarint() - 1;
    if (n === -1) return null;
    const at = this.need(n);
    return this.buf.subarray(at, at + n);
  }
  compactArrayLength(): number {
    const n = this.uvarint() - 1;
    if (n > this.remaining) throw new MalformedFrameError(`array length ${n} exceeds the frame`);
    return n;
  }
  /** Tagged fields the broker has no use for are read past, as Kafka ignores unknown tags. */
  skipTaggedFields(): void {
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      this.uvarint(); // tag
      this.need(this.uvarint());
    }
  }
  arrayLength(): number {
    const n = this.int32();
    if (n < -1) throw new MalformedFrameError(`invalid array length ${n}`);
    // Every element takes at least one byte: a larger count is a lie that would allocate without bound.
    if (n > this.remaining) throw new MalformedFrameError(`array length ${n} exceeds the frame`);
    return n;
  }
}

const CHUNK = 16 * 1024;
/** Byte values at least this long are passed to the socket as their own chunk instead of copied. */
const ZERO_COPY_MIN = 1024;

/** Builds a message as a list of buffers so that large record sets are never copied. */
export class Writer {
  private chunks: Buffer[] = [];
  private buf = Buffer.allocUnsafe(CHUNK);
  private pos = 0;
  private flushed = 0;

  get length(): number {
    return this.flushed + this.pos;
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n);
  }

  private flush(): void {
    if (this.pos === 0) return;
    this.chunks.push(this.buf.subarray(0, this.pos));
    this.flushed += this.pos;
    this.buf = this.buf.subarray(this.pos);
    if (this.buf.length < 64) this.buf = Buffer.allocUnsafe(CHUNK);
    this.pos = 0;
  }

  int8(v: number): void {
    this.room(1);
    this.pos = this.buf.writeInt8(v, this.pos);
  }
  int16(v: number): void {
    this.room(2);
    this.pos = this.buf.writeInt16BE(v, this.pos);
  }
  int32(v: number): void {
    this.room(4);
    this.pos = this.buf.writeInt32BE(v, this.pos);
  }
  uint32(v: number): void {
    this.room(4);
    this.pos = this.buf.writeUInt32BE(v >>> 0, this.pos);
  }
  int64(v: number): void {
    this.room(8);
    const hi = Math.floor(v / 4294967296);
    this.buf.writeInt32BE(hi, this.pos);
    this.buf.writeUInt32BE(v - hi * 4294967296, this.pos + 4);
    this.pos += 8;
  }
  float64(v: number): void {
    this.room(8);
    this.pos = this.buf.writeDoubleBE(v, this.pos);
  }
  bool(v: boolean): void {
    this.int8(v ? 1 : 0);
  }
  raw(b: Buffer): void {
    if (b.length >= ZERO_COPY_MIN) {
      this.flush();
      this.chunks.push(b);
      this.flushed += b.length;
      return;
    }
    this.room(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }
  nullableString(v: string | null): void {
    if (v === null) return this.int16(-1);
    const len = Buffer.byteLength(v);
    this.int16(len);
    this.room(len);
    this.pos += this.buf.write(v, this.pos, "utf8");
  }
  nullableBytes(v: Buffer | readonly Buffer[] | null): void {
    if (v === null) return this.int32(-1);
    if (Buffer.isBuffer(v)) {
      this.int32(v.length);
      this.raw(v);
      return;
    }
    const parts = v as readonly Buffer[];
    let total = 0;
    for (const p of parts) total += p.length;
    this.int32(total);
    for (const p of parts) this.raw(p);
  }

  uvarint(v: number): void {
    this.room(5);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }
  compactString(v: string | null): void {
    if (v === null) return this.uvarint(0);
    const len = Buffer.byteLength(v);
    this.uvarint(len + 1);
    this.room(len);
    this.pos += this.buf.write(v, this.pos, "utf8");
  }
  compactBytes(v: Buffer | readonly Buffer[] | null): void {
    if (v === null) return this.uvarint(0);
    if (Buffer.isBuffer(v)) {
      this.uvarint(v.length + 1);
      this.raw(v);
      return;
    }
    const parts = v as readonly Buffer[];
    let total = 0;
    for (const p of parts) total += p.length;
    this.uvarint(total + 1);
    for (const p of parts) this.raw(p);
  }

  /** The finished message, as chunks to write in order. */
  finish(): Buffer[] {
    this.flush();
    return this.chunks;
  }
}

export type Message = Record<string, unknown>;

interface CompiledField {
  spec: FieldSpec;
  versions: VersionRange;
  nullable: VersionRange | null;
  fields: CompiledField[] | null;
}

const compiled = new WeakMap<readonly FieldSpec[], CompiledField[]>();

function compile(fields: readonly FieldSpec[]): CompiledField[] {
  let out = compiled.get(fields);
  if (!out) {
    out = fields.map((spec) => ({
      spec,
      versions: parseVersionRange(spec.versions),
      nullable: spec.nullableVersions ? parseVersionRange(spec.nullableVersions) : null,
      fields: spec.fields ? compile(spec.fields) : null,
    }));
    compiled.set(fields, out);
  }
  return out;
}

function readPrimitive(r: Reader, type: string, nullable: boolean, name: string, flexible: boolean): unknown {
  switch (type) {
    case "int8":
      return r.int8();
    case "int16":
      return r.int16();
    case "int32":
      return r.int32();
    case "int64":
      return r.int64();
    case "float64":
      return r.float64();
    case "bool":
      return r.bool();
    case "uuid":
      return r.uuid();
    case "string": {
      const s = flexible ? r.compactString() : r.nullableString();
      if (s === null && !nullable) throw new MalformedFrameError(`field ${name} is null but not nullable`);
      return s;
    }
    case "bytes":
    case "records": {
      const b = flexible ? r.compactBytes() : r.nullableBytes();
      if (b === null && !nullable && type === "bytes") throw new MalformedFrameError(`field ${name} is null but not nullable`);
      return b;
    }
    default:
      throw new Error(`unknown primitive type ${type}`);
  }
}

/**
 * Reads one struct. In flexible versions (KIP-482) strings, bytes and arrays are compact and every
 * struct ends with its tagged fields, which are read past.
 */
function readFields(r: Reader, fields: CompiledField[], version: number, flexible: boolean): Message {
  const out: Message = {};
  for (const f of fields) {
    if (!inRange(f.versions, version)) continue;
    const nullable = f.nullable !== null && inRange(f.nullable, version);
    const type = f.spec.type;
    if (type === "struct") {
      out[f.spec.name] = readFields(r, f.fields ?? [], version, flexible);
    } else if (type.startsWith("[]")) {
      const n = flexible ? r.compactArrayLength() : r.arrayLength();
      if (n === -1) {
        if (!nullable) throw new MalformedFrameError(`array ${f.spec.name} is null but not nullable`);
        out[f.spec.name] = null;
        continue;
      }
      const items: unknown[] = new Array(n);
      if (type === "[]") {
        const inner = f.fields ?? [];
        for (let i = 0; i < n; i++) items[i] = readFields(r, inner, version, flexible);
      } else {
        const elem = type.slice(2);
        for (let i = 0; i < n; i++) items[i] = readPrimitive(r, elem, false, f.spec.name, flexible);
      }
      out[f.spec.name] = items;
    } else {
      out[f.spec.name] = readPrimitive(r, type, nullable, f.spec.name, flexible);
    }
  }
  if (flexible) r.skipTaggedFields();
  return out;
}

function zero(type: string): unknown {
  switch (type) {
    case "string":
      return "";
    case "bool":
      return false;
    case "bytes":
      return Buffer.alloc(0);
    case "records":
      return null;
    case "uuid":
      return Buffer.alloc(16);
    default:
      return type.startsWith("[]") ? [] : 0;
  }
}

function writePrimitive(w: Writer, type: string, v: unknown, flexible: boolean): void {
  switch (type) {
    case "int8":
      return w.int8(v as number);
    case "int16":
      return w.int16(v as number);
    case "int32":
      return w.int32(v as number);
    case "int64":
      return w.int64(v as number);
    case "float64":
      return w.float64(v as number);
    case "bool":
      return w.bool(v as boolean);
    case "uuid":
      return w.raw(v as Buffer);
    case "string":
      return flexible ? w.compactString(v as string | null) : w.nullableString(v as string | null);
    case "bytes":
    case "records":
      return flexible ? w.compactBytes(v as Buffer | Buffer[] | null) : w.nullableBytes(v as Buffer | Buffer[] | null);
    default:
      throw new Error(`unknown primitive type ${type}`);
  }
}

function writeFields(w: Writer, fields: CompiledField[], version: number, value: Message, flexible: boolean): void {
  for (const f of fields) {
    if (!inRange(f.versions, version)) continue;
    const type = f.spec.type;
    let v = value[f.spec.name];
    if (v === undefined) v = f.spec.default !== undefined ? f.spec.default : type === "struct" ? {} : zero(type);
    if (type === "struct") {
      writeFields(w, f.fields ?? [], version, v as Message, flexible);
    } else if (type.startsWith("[]")) {
      if (v === null) {
        if (flexible) w.uvarint(0);
        else w.int32(-1);
        continue;
      }
      const items = v as unknown[];
      if (flexible) w.uvarint(items.length + 1);
      else w.int32(items.length);
      if (type === "[]") {
        const inner = f.fields ?? [];
        for (const item of items) writeFields(w, inner, version, item as Message, flexible);
      } else {
        const elem = type.slice(2);
        for (const item of items) writePrimitive(w, elem, item, flexible);
      }
    } else {
      writePrimitive(w, type, v, flexible);
    }
  }
  // No tagged fields are written: every one Kafka defines is optional.
  if (flexible) w.uvarint(0);
}

/** Whether `version` of this message is flexible (KIP-482: compact encodings, tagged fields). */
export function isFlexible(spec: MessageSpec, version: number): boolean {
  if (!spec.flexibleVersions) return false;
  let range = flexibleRanges.get(spec);
  if (!range) {
    range = parseVersionRange(spec.flexibleVersions);
    flexibleRanges.set(spec, range);
  }
  return inRange(range, version);
}

const flexibleRanges = new WeakMap<MessageSpec, VersionRange>();

export function decodeMessage(spec: MessageSpec, version: number, r: Reader): Message {
  return readFields(r, compile(spec.fields), version, isFlexible(spec, version));
}

export function encodeMessage(spec: MessageSpec, version: number, value: Message, w: Writer): void {
  writeFields(w, compile(spec.fields), version, value, isFlexible(spec, version));
}

export function supportedVersions(spec: MessageSpec): VersionRange {
  return parseVersionRange(spec.validVersions);
}
