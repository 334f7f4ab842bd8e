/**
 * The dead-letter groups, discard and the audit log through their route handlers, against a real
 * database holding dead letters the way the collector stores them: what each answers, how it
 * refuses bad input, and that a discard shows up in the groups and in the audit log.
 */
import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getDatabase, ingestEvents, recordAudit, type AuditLogPage, type DeadLetterGroup, type EventRow, type FailureInfo } from "@/server/db";
import { createTestDatabase, type TestDatabase } from "@/server/db/test-support";
import { GET as getAudit } from "../audit/route.ts";
import { POST as discard } from "./[id]/discard/route.ts";
import { GET as getGroups } from "./groups/route.ts";

const suffix = crypto.randomBytes(4).toString("hex");
const TOPIC = { payments: `payments-${suffix}`, inventory: `inventory-${suffix}`, dlq: `orders-${suffix}-dlq` };
const ADMIN_TOKEN = `admin-${suffix}`;
const START = Date.now() - 60_000;

function deadLetterRow(offset: number, originTopic: string, errorClass: string, errorMessage: string): EventRow {
  const raw = Buffer.from(JSON.stringify({ orderId: `ord-${suffix}-${offset}` }));
  const failure: FailureInfo = {
    source: "headers", convention: "eventscope", originTopic, originPartition: 0, originOffset: String(offset), originTimestamp: null,
    originConsumerGroup: null, originTopicHint: null, errorClass, errorMessage, errorCause: null, stackTrace: null, attempts: 1,
  };
  return {
    sourceId: 1,
    topic: TOPIC.dlq,
    partition: 0,
    offset: String(offset),
    timestamp: new Date(START + offset * 1000),
    key: { kind: "text", text: `ord-${suffix}-${offset}` },
    value: { kind: "json", json: JSON.parse(raw.toString()) as unknown, raw },
    sizeBytes: raw.length,
    headers: [],
    eventType: "OrderFailed",
    producer: "payment-service",
    entityKeys: [`ord-${suffix}-${offset}`],
    trace: { traceId: null, parentSpanId: null },
    deadLetter: failure,
    flags: [],
  };
}

let db: TestDatabase;
/** Dead letter ids by their DLQ offset. */
const ids: string[] = [];
const saved = { ...process.env };

beforeAll(async () => {
  db = await createTestDatabase();
  process.env.DATABASE_URL = db.url;
  process.env.EVENTSCOPE_ADMIN_TOKEN = ADMIN_TOKEN;
  delete process.env.EVENTSCOPE_READ_TOKEN;
  delete process.env.EVENTSCOPE_USERS_FILE;
  await ingestEvents(db, [
    deadLetterRow(0, TOPIC.payments, "CardDeclined", "card declined by the issuer"),
    deadLetterRow(1, TOPIC.payments, "CardDeclined", "card declined: insufficient funds"),
    deadLetterRow(2, TOPIC.inventory, "OutOfStock", "sku-42 is out of stock"),
  ]);
  const { rows } = await db.pool.query<{ id: string }>(`SELECT id::text AS id FROM dead_letters WHERE channel = $1 ORDER BY position`, [TOPIC.dlq]);
  ids.push(...rows.map((r) => r.id));
});

afterAll(async () => {
  await (await getDatabase()).close();
  for (const name of ["DATABASE_URL", "EVENTSCOPE_ADMIN_TOKEN", "EVENTSCOPE_READ_TOKEN", "EVENTSCOPE_USERS_FILE"]) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
  await db?.drop();
});

type Handler = (request: Request, context: never) => Promise<Response>;

async function call<T>(handler: Handler, path: string, init: RequestInit = {}, params: object = {}) {
  const response = await handler(new Request(`http://127.0.0.1${path}`, init), { params: Promise.resolve(params) } as never);
  return { status: response.status, body: (await response.json()) as T & { message?: string } };
}

function discardAs(id: string, headers: Record<string, string>, body = "{}") {
  return call<{ deadLetterId: string; status: string; previous: string }>(
    discard as Handler,
    `/api/dead-letters/${id}/discard`,
    { method: "POST", headers: { "content-type": "application/json", ...headers }, body },
    { id },
  );
}

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

describe("GET /api/dead-letters/groups", () => {
  it("groups by original topic and error class, with counts by status and the DLQ they sit in", async () => {
    const { status, body } = await call<{ groups: DeadLetterGroup[] }>(getGroups as Handler, "/api/dead-letters/groups");
    expect(status).toBe(200);
    const summary = body.groups.map((g) => [g.originTopic, g.errorClass, g.count, g.dlqTopics]);
    expect(summary).toHaveLength(2);
    expect(summary).toEqual(
      expect.arrayContaining([
        [TOPIC.payments, "CardDeclined", 2, [TOPIC.dlq]],
        [TOPIC.inventory, "OutOfStock", 1, [TOPIC.dlq]],
      ]),
    );
  });

  it("keeps to the filters: original topic and error text", async () => {
    const byTopic = await call<{ groups: DeadLetterGroup[] }>(getGroups as Handler, `/api/dead-letters/groups?topic=${TOPIC.inventory}`);
    expect(byTopic.body.groups.map((g) => g.errorClass)).toEqual(["OutOfStock"]);
    const byError = await call<{ groups: DeadLetterGroup[] }>(getGroups as Handler, "/api/dead-letters/groups?error=insufficient");
    expect(byError.body.groups.map((g) => [g.errorClass, g.count])).toEqual([["CardDeclined", 1]]);
  });
});

describe("POST /api/dead-letters/[id]/discard", () => {
  it("answers 401 without the admin token, and changes nothing", async () => {
    const anonymous = await discardAs(ids[2]!, {});
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.message).toMatch(/sign in/);
    const wrong = await discardAs(ids[2]!, { authorization: "Bearer not-the-token" });
    expect(wrong.status).toBe(401);
    const { rows } = await db.pool.query(`SELECT status::text FROM dead_letters WHERE id = $1`, [ids[2]]);
    expect(rows).toEqual([{ status: "new" }]);
  });

  it("answers 422 for an id that is not one or a body with unknown fields, 404 for a dead letter that does not exist", async () => {
    const badId = await discardAs("12abc", admin);
    expect(badId.status).toBe(422);
    expect(badId.body.message).toBe("a dead letter id is a positive whole number");
    const badBody = await discardAs(ids[2]!, admin, JSON.stringify({ note: "x", force: true }));
    expect(badBody.status).toBe(422);
    expect(badBody.body.message).toMatch(/force/);
    const notJson = await discardAs(ids[2]!, admin, "{note:");
    expect(notJson.status).toBe(422);
    const missing = await discardAs("999999999", admin);
    expect(missing.status).toBe(404);
    expect(missing.body.message).toBe("no dead letter 999999999");
  });

  it("discards with the admin token: the groups count it as discarded and the audit log names who and why", async () => {
    const { status, body } = await discardAs(ids[2]!, admin, JSON.stringify({ note: "restocked by hand" }));
    expect(status).toBe(200);
    expect(body).toEqual({ deadLetterId: ids[2], status: "discarded", previous: "new" });

    const groups = await call<{ groups: DeadLetterGroup[] }>(getGroups as Handler, `/api/dead-letters/groups?topic=${TOPIC.inventory}`);
    expect(groups.body.groups.map((g) => g.byStatus)).toEqual([{ new: 0, replayed: 0, resolved: 0, discarded: 1 }]);
    const stillNew = await call<{ groups: DeadLetterGroup[] }>(getGroups as Handler, "/api/dead-letters/groups?status=new");
    expect(stillNew.body.groups.map((g) => g.errorClass)).toEqual(["CardDeclined"]);

    const audit = await call<AuditLogPage>(getAudit as Handler, `/api/audit?targetType=dead-letter&targetId=${ids[2]}`);
    expect(audit.status).toBe(200);
    expect(audit.body.entries.map((e) => [e.actor, e.action, e.result, e.details])).toEqual([
      ["admin", "discard", "ok", { previous: "new", note: "restocked by hand" }],
    ]);
  });
});

describe("GET /api/audit", () => {
  const actor = `auditor-${suffix}`;

  beforeAll(async () => {
    for (const action of ["resolve", "replay", "discard"]) {
      await recordAudit(db, { actor, action, targetType: "dead-letter", targetId: ids[0]!, details: null, result: "ok" });
    }
  });

  it("lists one actor's writes newest first and pages by cursor without losing or repeating one", async () => {
    const first = await call<AuditLogPage>(getAudit as Handler, `/api/audit?actor=${actor}&limit=2`);
    expect(first.status).toBe(200);
    expect(first.body.entries.map((e) => e.action)).toEqual(["discard", "replay"]);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await call<AuditLogPage>(getAudit as Handler, `/api/audit?actor=${actor}&limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.entries.map((e) => e.action)).toEqual(["resolve"]);
    expect(second.body.nextCursor).toBeNull();
    const replays = await call<AuditLogPage>(getAudit as Handler, `/api/audit?actor=${actor}&action=replay`);
    expect(replays.body.entries.map((e) => e.action)).toEqual(["replay"]);
  });
});

describe("bad query parameters", () => {
  it.each([
    [getGroups, "/api/dead-letters/groups?status=new,lost", /^status: status must be new, replayed, resolved, discarded \(comma-separated\); got lost$/],
    [getGroups, "/api/dead-letters/groups?from=yesterday", /^from: expected a date and time such as 2026-11-23T08:00:00Z, got "yesterday"$/],
    [getAudit, "/api/audit?limit=501", /^limit: limit must be a whole number from 1 to 500$/],
    [getAudit, "/api/audit?cursor=not-a-cursor", /cursor/],
  ])("answer 422 with the reason: %#", async (handler, path, message) => {
    const { status, body } = await call(handler as Handler, path as string);
    expect(status).toBe(422);
    expect(body.message).toMatch(message as RegExp);
  });
});
