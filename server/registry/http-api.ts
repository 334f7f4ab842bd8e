/**
 * The REST API: Confluent's paths, bodies, content type and error codes, for the part serializers
 * and Eventscope use. Every answer, errors included, is JSON in
 * `application/vnd.schemaregistry.v1+json`; a bad request is answered, never thrown at the server.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { invalidSchema, RegistryError } from "./registry-error.ts";
import { isSchemaType, schemaTypes } from "./schema-text.ts";
import {
  compatibilityLevels,
  type CompatibilityLevel,
  type SchemaInput,
  type SchemaReference,
  type SchemaStore,
  type StoredSchema,
  type SubjectVersion,
} from "./store.ts";

export const contentType = "application/vnd.schemaregistry.v1+json";
const acceptedBodyTypes = new Set([contentType, "application/vnd.schemaregistry+json", "application/json"]);
/** Schemas are small; this only keeps a runaway client from filling memory. */
const maxBodyBytes = 16 * 1024 * 1024;
const maxVersion = 2 ** 31 - 1;

interface Request {
  method: string;
  /** Path segments, percent-decoded: `/subjects/a%2Fb/versions` → ["subjects", "a/b", "versions"]. */
  segments: string[];
  query: URLSearchParams;
  body: () => Promise<unknown>;
}

/** The response body, or `raw` text sent as it is (a schema's own text). */
type Result = { status?: number; json: unknown } | { raw: string };

const notFound = () => new RegistryError(404, 404, "HTTP 404 Not Found");
const methodNotAllowed = () => new RegistryError(405, 405, "HTTP 405 Method Not Allowed");

export function createRequestHandler(store: SchemaStore, log: (line: string) => void) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    void handle(store, req)
      .catch((err: unknown) => {
        if (err instanceof RegistryError) return { status: err.status, json: err.toJSON() };
        log(`[registry] ${req.method} ${req.url}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        return { status: 500, json: { error_code: 50001, message: "Error in the backend data store" } };
      })
      .then((result) => {
        const text = "raw" in result ? result.raw : JSON.stringify(result.json);
        res.writeHead("raw" in result ? 200 : (result.status ?? 200), {
          "content-type": contentType,
          "content-length": Buffer.byteLength(text),
        });
        res.end(text);
      })
      .catch((err: unknown) => log(`[registry] ${req.method} ${req.url}: answer not sent: ${String(err)}`));
  };
}

async function handle(store: SchemaStore, req: IncomingMessage): Promise<Result> {
  const url = new URL(req.url ?? "/", "http://registry");
  let segments: string[];
  try {
    segments = url.pathname.split("/").filter((s) => s !== "").map(decodeURIComponent);
  } catch {
    throw notFound();
  }
  return route(store, { method: req.method ?? "GET", segments, query: url.searchParams, body: () => readJsonBody(req) });
}

async function route(store: SchemaStore, req: Request): Promise<Result> {
  const { method, segments: s } = req;
  const only = (allowed: string) => {
    if (method !== allowed) throw methodNotAllowed();
  };
  switch (s[0]) {
    case undefined:
      only("GET");
      return { json: {} };
    case "schemas":
      if (s[1] === "types" && s.length === 2) {
        only("GET");
        return { json: [...schemaTypes] };
      }
      if (s[1] === "ids" && s.length >= 3 && s.length <= 4) {
        only("GET");
        const schema = store.schemaById(parseId(s[2]!));
        if (s[3] === undefined) return { json: schemaBody(schema) };
        if (s[3] === "versions") return { json: store.versionsOfId(schema.id) };
        if (s[3] === "schema") return { raw: schema.schema };
      }
      throw notFound();
    case "subjects":
      return routeSubjects(store, req);
    case "config":
      if (s.length > 2) throw notFound();
      return routeConfig(store, req, s[1] ?? null);
    default:
      throw notFound();
  }
}

async function routeSubjects(store: SchemaStore, req: Request): Promise<Result> {
  const { method, segments: s } = req;
  const subject = s[1];
  if (subject === undefined) {
    if (method !== "GET") throw methodNotAllowed();
    return { json: store.listSubjects() };
  }
  if (s.length === 2) {
    if (method !== "POST") throw methodNotAllowed();
    return { json: subjectVersionBody(store.lookup(subject, await schemaInput(req))) };
  }
  if (s[2] !== "versions" || s.length > 5) throw notFound();
  if (s.length === 3) {
    if (method === "GET") return { json: store.listVersions(subject) };
    if (method === "POST") return { json: { id: store.register(subject, await schemaInput(req)).id } };
    throw methodNotAllowed();
  }
  if (method !== "GET") throw methodNotAllowed();
  const found = store.getVersion(subject, parseVersion(s[3]!));
  if (s[4] === undefined) return { json: subjectVersionBody(found) };
  if (s[4] === "schema") return { raw: found.schema.schema };
  throw notFound();
}

async function routeConfig(store: SchemaStore, req: Request, subject: string | null): Promise<Result> {
  if (req.method === "GET") {
    const own = store.compatibilityOf(subject);
    if (own !== undefined) return { json: { compatibilityLevel: own } };
    if (req.query.get("defaultToGlobal") === "true") return { json: { compatibilityLevel: store.compatibilityOf(null) } };
    throw new RegistryError(404, 40408, `Subject '${subject}' does not have subject-level compatibility configured`);
  }
  if (req.method !== "PUT") throw methodNotAllowed();
  const body = await req.body();
  const level = isObject(body) && typeof body.compatibility === "string" ? body.compatibility.toUpperCase() : undefined;
  if (!(compatibilityLevels as readonly string[]).includes(level ?? "")) {
    throw new RegistryError(
      422,
      42203,
      `Invalid compatibility level. Valid values are ${compatibilityLevels.map((l) => l.toLowerCase()).join(", ")}`,
    );
  }
  store.setCompatibility(subject, level as CompatibilityLevel);
  return { json: { compatibility: level } };
}

/** `{"schema": "...", "schemaType"?: ..., "references"?: [...]}`, checked. */
async function schemaInput(req: Request): Promise<SchemaInput> {
  const body = await req.body();
  if (!isObject(body)) throw invalidSchema("the body is a JSON object with a \"schema\"");
  if (typeof body.schema !== "string") throw invalidSchema("\"schema\" is a string");
  const schemaType = body.schemaType ?? "AVRO";
  if (!isSchemaType(schemaType)) throw invalidSchema(`unknown schemaType ${JSON.stringify(schemaType)}; known: ${schemaTypes.join(", ")}`);
  const references = body.references ?? [];
  if (!Array.isArray(references)) throw invalidSchema("\"references\" is an array");
  return { schema: body.schema, schemaType, references: references.map(parseReference) };
}

function parseReference(ref: unknown, i: number): SchemaReference {
  if (
    !isObject(ref) ||
    typeof ref.name !== "string" ||
    typeof ref.subject !== "string" ||
    typeof ref.version !== "number" ||
    !Number.isInteger(ref.version)
  ) {
    throw invalidSchema(`references[${i}] is {"name": string, "subject": string, "version": integer}`);
  }
  return { name: ref.name, subject: ref.subject, version: ref.version };
}

function parseId(text: string): number {
  if (!/^\d{1,10}$/.test(text)) throw new RegistryError(404, 40403, `Schema ${text} not found`);
  return Number(text);
}

/** A version number, or "latest" (also written -1). */
function parseVersion(text: string): number | "latest" {
  if (text === "latest" || text === "-1") return "latest";
  if (/^\d{1,10}$/.test(text) && Number(text) >= 1 && Number(text) <= maxVersion) return Number(text);
  throw new RegistryError(
    422,
    42202,
    `The specified version '${text}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"`,
  );
}

/** As Confluent writes it: no schemaType for AVRO, no references when there are none. */
function schemaBody(schema: StoredSchema): Record<string, unknown> {
  return {
    ...(schema.schemaType !== "AVRO" ? { schemaType: schema.schemaType } : {}),
    schema: schema.schema,
    ...(schema.references.length > 0 ? { references: schema.references } : {}),
  };
}

function subjectVersionBody(found: SubjectVersion): Record<string, unknown> {
  return { subject: found.subject, version: found.version, id: found.id, ...schemaBody(found.schema) };
}

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const type = (req.headers["content-type"] ?? contentType).split(";")[0]!.trim().toLowerCase();
  if (!acceptedBodyTypes.has(type)) {
    req.resume();
    throw new RegistryError(415, 415, "HTTP 415 Unsupported Media Type");
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBodyBytes) throw new RegistryError(413, 413, "HTTP 413 Request Entity Too Large");
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch (err) {
    throw invalidSchema(`the body is not JSON (${(err as Error).message})`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
