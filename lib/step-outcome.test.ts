import { describe, expect, it } from "vitest";
import { classifyStep, typeWords } from "./step-outcome";

const outcome = (eventType: string | null, more: Partial<Parameters<typeof classifyStep>[0]> = {}) => classifyStep({ eventType, ...more }).outcome;

describe("typeWords", () => {
  it("splits camel case, acronyms and separators, and joins neighbours", () => {
    expect(typeWords("PaymentFailed")).toEqual(["payment", "failed", "paymentfailed"]);
    expect(typeWords("HTTPTimeout")).toEqual(["http", "timeout", "httptimeout"]);
    expect(typeWords("order.timed_out")).toContain("timedout");
    expect(typeWords("")).toEqual([]);
  });
});

describe("classifyStep", () => {
  it("marks the demo's compensation chain: the failure, then the undoing steps", () => {
    expect(outcome("PaymentFailed")).toBe("failure");
    expect(outcome("InventoryReleased")).toBe("compensation");
    expect(outcome("OrderCancelled")).toBe("compensation");
    expect(outcome("PaymentRefunded")).toBe("compensation");
  });

  it("leaves the happy path unmarked", () => {
    for (const type of ["OrderPlaced", "InventoryReserved", "PaymentProcessed", "OrderShipped", "NotificationSent"]) {
      expect(outcome(type), type).toBe("normal");
    }
    expect(outcome(null)).toBe("normal");
  });

  it("reads failure names in any naming style", () => {
    for (const type of ["order.rejected", "card-declined", "GatewayTimeout", "ShipmentTimedOut", "payment_error", "ReservationExpired", "AccessDenied"]) {
      expect(outcome(type), type).toBe("failure");
    }
  });

  it("reads compensation names in any naming style, and any word starting with compensat", () => {
    for (const type of ["order.canceled", "TransferReversed", "SagaCompensated", "CompensationStarted", "booking_rolled_back", "HoldVoided"]) {
      expect(outcome(type), type).toBe("compensation");
    }
  });

  it("does not mistake words that only contain a failure or compensation word", () => {
    for (const type of ["FailoverCompleted", "ErrandRun", "ReleaseNotesPublished", "RefundableTicketBought"]) {
      expect(outcome(type), type).toBe("normal");
    }
  });

  it("calls a step that reads as both a failure", () => {
    expect(outcome("RefundFailed")).toBe("failure");
    expect(outcome("CancellationRejected")).toBe("failure");
  });

  it("marks dead letters and events with failure headers whatever their type, and says why", () => {
    expect(classifyStep({ eventType: "OrderPlaced", deadLetter: { id: "1" } })).toEqual({ outcome: "failure", reason: "dead letter" });
    expect(classifyStep({ eventType: "OrderPlaced", topicKind: "dlq" })).toEqual({ outcome: "failure", reason: "dead letter" });
    expect(classifyStep({ eventType: "PaymentRequested", priorFailure: { attempts: 2 } })).toEqual({ outcome: "failure", reason: "failure headers (a retry)" });
    expect(classifyStep({ eventType: "InventoryReleased", priorFailure: null, deadLetter: null })).toEqual({ outcome: "compensation", reason: "compensation" });
  });
});
