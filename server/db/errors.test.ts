import { describe, expect, it } from "vitest";
import { DatabaseError, isRetriableDatabaseError, toDatabaseError } from "./errors.ts";

function pgError(code: string, message = "boom"): Error {
  return Object.assign(new Error(message), { code });
}

describe("isRetriableDatabaseError", () => {
  it.each([
    ["connection refused", Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" })],
    ["connection reset", Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" })],
    ["admin shutdown", pgError("57P01", "terminating connection due to administrator command")],
    ["starting up", pgError("57P03", "the database system is starting up")],
    ["too many connections", pgError("53300", "sorry, too many clients already")],
    ["disk full", pgError("53100")],
    ["connection failure", pgError("08006")],
    ["serialization failure", pgError("40001")],
    ["deadlock", pgError("40P01")],
    ["pg's own words for a dropped connection", new Error("Connection terminated unexpectedly")],
    ["all of a failed multi-address connect", new AggregateError([pgError("ECONNREFUSED"), pgError("ECONNREFUSED")])],
    ["a wrapped cause", new Error("query failed", { cause: pgError("57P01") })],
  ])("retries after %s", (_what, error) => {
    expect(isRetriableDatabaseError(error)).toBe(true);
    expect(toDatabaseError(error, "storing").retriable).toBe(true);
  });

  it.each([
    ["a syntax error", pgError("42601")],
    ["an invalid value", pgError("22P02")],
    ["a unique violation", pgError("23505")],
    ["a missing table", pgError("42P01")],
    ["a password that is wrong", pgError("28P01")],
    ["something unknown", new Error("nope")],
  ])("does not retry after %s", (_what, error) => {
    expect(isRetriableDatabaseError(error)).toBe(false);
  });

  it("keeps a DatabaseError's own verdict and names the operation in a wrapped message", () => {
    const own = new DatabaseError("x", { retriable: false, code: "57P01" });
    expect(toDatabaseError(own, "ignored")).toBe(own);
    const wrapped = toDatabaseError(pgError("57P01", "terminating connection"), "storing 10 events");
    expect(wrapped).toMatchObject({ retriable: true, code: "57P01", message: "storing 10 events: terminating connection" });
  });
});
