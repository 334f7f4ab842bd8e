/**
 * Schemas by id from a Confluent-compatible Schema Registry (Confluent's, Redpanda's, Karapace,
 * Apicurio's compat API, or Eventscope's embedded one): `GET /schemas/ids/<id>` and, for the
 * subject and version, `GET /schemas/ids/<id>/versions`. An id never changes meaning, so what is
 * found is cached forever; an id the registry does not know is remembered as unknown for a while;
 * a registry that cannot be reached is asked again after `retryAfterMs` (not at every batch: a
 * registry that does not answer would cost every batch its timeout). Collection never waits on it
 * beyond `timeoutMs`.
 */

export interface RegistrySchema {
  id: number;
  schemaType: "AVRO" | "PROTOBUF" | "JSON";
  schema: string;
  /** The first subject-version the registry lists for the id, when it lists one. */
  subject: string | null;
  version: number | null;
  /**
   * The subject's compatibility level as the registry reported it when the schema was fetched
   * (`GET /config/<subject>`, else the global `GET /config`); null when it reported none.
   */
  compatibility: string | null;
  /** The schemas it references (Protobuf imports, named Avro types), transitively: import name → schema text. */
  references: { name: string; schema: string }[];
}

interface SchemaReference {
  name?: unknown;
  subject?: unknown;
  version?: unknown;
}

/** How deep references may nest before the schema is taken as broken. */
const MAX_REFERENCE_DEPTH = 16;

export type SchemaLookup =
  | { status: "known"; schema: RegistrySchema }
  | { status: "unknown" }
  /** Not asked yet, or the registry did not answer in time: the event is stored raw and flagged. */
  | { status: "unavailable"; error: string };

export interface RegistryClientOptions {
  url: string;
  username?: string;
  password?: string;
  /** How long a batch waits for the registry at most. Default 2 s. */
  timeoutMs?: number;
  /** How long an id the registry does not know is not asked again. Default 60 s. */
  unknownTtlMs?: number;
  /** How long after a failed fetch an id is not asked again. Default 10 s. */
  retryAfterMs?: number;
  fetch?: typeof fetch;
}

const CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";

export class SchemaRegistryClient {
  private readonly known = new Map<number, RegistrySchema>();
  /** Fetched since the last takeFetched(): for the collector to store (registry_schemas). */
  private fetched: RegistrySchema[] = [];
  private readonly unknownUntil = new Map<number, number>();
  private readonly failures = new Map<number, { message: string; at: number }>();
  private readonly base: string;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly unknownTtlMs: number;
  private readonly retryAfterMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(options: RegistryClientOptions) {
    this.base = options.url.replace(/\/+$/, "");
    this.headers = { accept: CONTENT_TYPE };
    if (options.username !== undefined) {
      this.headers.authorization = `Basic ${Buffer.from(`${options.username}:${options.password ?? ""}`).toString("base64")}`;
    }
    this.timeoutMs = options.timeoutMs ?? 2_000;
    this.unknownTtlMs = options.unknownTtlMs ?? 60_000;
    this.retryAfterMs = options.retryAfterMs ?? 10_000;
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** What is known about `id` now, without asking the registry. */
  lookup(id: number): SchemaLookup {
    const schema = this.known.get(id);
    if (schema) return { status: "known", schema };
    if ((this.unknownUntil.get(id) ?? 0) > Date.now()) return { status: "unknown" };
    return { status: "unavailable", error: this.failures.get(id)?.message ?? "not fetched from the schema registry yet" };
  }

  /** The schemas fetched since the last call, once each. */
  takeFetched(): RegistrySchema[] {
    const taken = this.fetched;
    this.fetched = [];
    return taken;
  }

  /** Puts back schemas that could not be stored, to be taken again. */
  giveBack(schemas: readonly RegistrySchema[]): void {
    this.fetched.unshift(...schemas);
  }

  /** The subject's compatibility level, else the global one; null when neither is answered. */
  private async compatibilityOf(subject: string, signal: AbortSignal): Promise<string | null> {
    for (const url of [`${this.base}/config/${encodeURIComponent(subject)}`, `${this.base}/config`]) {
      const response = await this.fetchImpl(url, { headers: this.headers, signal }).catch(() => null);
      if (!response?.ok) continue;
      const body = (await response.json().catch(() => null)) as { compatibilityLevel?: unknown; compatibility?: unknown } | null;
      const level = body?.compatibilityLevel ?? body?.compatibility;
      if (typeof level === "string" && /^[A-Z_]{1,32}$/.test(level)) return level;
    }
    return null;
  }

  /** Fetches the ids not known yet, together, within the timeout; never throws. */
  async prefetch(ids: Iterable<number>): Promise<void> {
    const now = Date.now();
    const wanted = [...new Set(ids)].filter(
      (id) => !this.known.has(id) && (this.unknownUntil.get(id) ?? 0) <= now && now - (this.failures.get(id)?.at ?? -Infinity) >= this.retryAfterMs,
    );
    if (wanted.length === 0) return;
    const signal = AbortSignal.timeout(this.timeoutMs);
    await Promise.all(wanted.map((id) => this.fetchOne(id, signal)));
  }

  /**
   * The schema `id`, asked for now when it is not known (a user waits on it: the pause after a
   * failed fetch that protects collection does not apply). Waits at most the timeout.
   */
  async get(id: number): Promise<SchemaLookup> {
    if (!this.known.has(id)) await this.fetchOne(id, AbortSignal.timeout(this.timeoutMs));
    return this.lookup(id);
  }

  /** Each reference's schema (`GET /subjects/<s>/versions/<v>`), and theirs, depth first. */
  private async fetchReferences(list: unknown, into: RegistrySchema["references"], signal: AbortSignal, depth: number): Promise<void> {
    if (!Array.isArray(list)) return;
    if (depth > MAX_REFERENCE_DEPTH) throw new Error(`schema references nest deeper than ${MAX_REFERENCE_DEPTH}`);
    for (const reference of list as SchemaReference[]) {
      if (typeof reference.name !== "string" || typeof reference.subject !== "string") continue;
      if (into.some((known) => known.name === reference.name)) continue;
      const version = typeof reference.version === "number" ? String(reference.version) : "latest";
      const response = await this.fetchImpl(`${this.base}/subjects/${encodeURIComponent(reference.subject)}/versions/${version}`, {
        headers: this.headers,
        signal,
      });
      if (!response.ok) throw new Error(`the schema registry answered ${response.status} for reference ${reference.name}`);
      const body = (await response.json()) as { schema?: unknown; references?: unknown };
      if (typeof body.schema !== "string") throw new Error(`the schema registry's answer for reference ${reference.name} has no schema`);
      await this.fetchReferences(body.references, into, signal, depth + 1);
      into.push({ name: reference.name, schema: body.schema });
    }
  }

  private async fetchOne(id: number, signal: AbortSignal): Promise<void> {
    try {
      const response = await this.fetchImpl(`${this.base}/schemas/ids/${id}`, { headers: this.headers, signal });
      if (response.status === 404) {
        this.unknownUntil.set(id, Date.now() + this.unknownTtlMs);
        this.failures.delete(id);
        return;
      }
      if (!response.ok) throw new Error(`the schema registry answered ${response.status} for schema ${id}`);
      const body = (await response.json()) as { schema?: unknown; schemaType?: unknown; references?: unknown };
      if (typeof body.schema !== "string") throw new Error(`the schema registry's answer for schema ${id} has no schema`);
      const schemaType = body.schemaType === "PROTOBUF" || body.schemaType === "JSON" ? body.schemaType : "AVRO";
      let subject: string | null = null;
      let version: number | null = null;
      const versions = await this.fetchImpl(`${this.base}/schemas/ids/${id}/versions`, { headers: this.headers, signal }).catch(() => null);
      if (versions?.ok) {
        const list = (await versions.json().catch(() => [])) as { subject?: unknown; version?: unknown }[];
        const first = Array.isArray(list) ? list[0] : undefined;
        if (first && typeof first.subject === "string" && typeof first.version === "number") {
          subject = first.subject;
          version = first.version;
        }
      }
      const references: RegistrySchema["references"] = [];
      await this.fetchReferences(body.references, references, signal, 0);
      const compatibility = subject === null ? null : await this.compatibilityOf(subject, signal);
      const schema: RegistrySchema = { id, schemaType, schema: body.schema, subject, version, compatibility, references };
      this.known.set(id, schema);
      this.fetched.push(schema);
      this.failures.delete(id);
    } catch (error) {
      const reason = error instanceof Error ? (error.name === "TimeoutError" ? `no answer within ${this.timeoutMs} ms` : error.message) : String(error);
      this.failures.set(id, { message: `schema registry unavailable: ${reason}`, at: Date.now() });
    }
  }
}
