import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { stepId } from "@/lib/flows";
import type { EntityFlow } from "@/lib/api-schemas/flows";
import { EntityFlows } from "./entity-flows";

const paid = { role: "event", type: "PaymentProcessed", producer: "payment-service" } as const;
const shipped = { role: "event", type: "OrderShipped", producer: "shipping-service" } as const;

function flow(overrides: Partial<EntityFlow>): EntityFlow {
  return {
    kind: "orderId",
    entityKey: "ord-3",
    outcome: "in-flight",
    firstAt: "2026-12-05T10:00:03.000Z",
    lastAt: "2026-12-05T10:00:03.200Z",
    steps: 2,
    lastStep: { id: stepId(paid), ...paid },
    stuck: null,
    onceSteps: [],
    alwaysAfter: [],
    ...overrides,
  };
}

describe("EntityFlows", () => {
  it("says what a stuck entity waits for, how long that usually takes, and which group to look at", () => {
    render(
      <EntityFlows
        flows={[
          flow({
            outcome: "stuck",
            stuck: {
              forMs: 30 * 60_000,
              nextStep: { id: stepId(shipped), ...shipped },
              usualP99Ms: 279,
              stuckAfterMs: 30_000,
              groups: [
                { kind: "kafka-group", source: "default", groupId: "shipping-service", healthStatus: "STALL", healthReason: "no commits for 5 min" },
                { kind: "rabbitmq-queue", source: "shop-rabbit", groupId: "rabbitmq:%2F/shipping.labels", healthStatus: "STOP", healthReason: "12 messages wait and no consumer is attached" },
              ],
            },
          }),
        ]}
      />,
    );
    const item = screen.getByRole("listitem");
    expect(item.textContent).toContain("orderId flow: stuck after PaymentProcessed (payment-service)");
    expect(item.textContent).toContain("waiting 30 min for OrderShipped from shipping-service");
    expect(screen.getByRole("link", { name: "shipping-service" }).getAttribute("href")).toBe("/groups/shipping-service");
    expect(item.textContent).toContain("(STALL: no commits for 5 min)");
    // A RabbitMQ queue it consumes, by its name, linked to the queue's page on its source.
    expect(screen.getByRole("link", { name: "queue shipping.labels" }).getAttribute("href")).toBe("/groups/rabbitmq%3A%252F%2Fshipping.labels?source=shop-rabbit");
    expect(item.textContent).toContain("queue shipping.labels (STOP: 12 messages wait and no consumer is attached)");
    expect(screen.getByRole("link", { name: "orderId flow" }).getAttribute("href")).toBe("/flows/orderId");
  });

  it("shows the outcome of each kind, and nothing without flows", () => {
    const { container, rerender } = render(<EntityFlows flows={[flow({ outcome: "compensated" }), flow({ kind: "key:payments", outcome: "completed" })]} />);
    expect(screen.getAllByRole("listitem").map((li) => li.querySelector("strong")?.textContent)).toEqual(["compensated", "completed"]);
    rerender(<EntityFlows flows={[]} />);
    expect(container.textContent).toBe("");
  });
});
