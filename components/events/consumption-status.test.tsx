import { render, screen } from "@testing-library/react";
import { describe, expect, test } from "vitest";
import type { GroupConsumption } from "@/lib/api-schemas/events";
import { ConsumptionStatus } from "./consumption-status";

const behind = (lag: string | null): GroupConsumption => ({
  groupId: "billing",
  state: "Stable",
  status: "behind",
  committedOffset: "12",
  lag,
  clientIds: ["billing-service"],
});

describe("an event's consumption by each group", () => {
  test("a lag beyond 2^53 is shown exactly, grouped", () => {
    render(<ConsumptionStatus consumption={[behind("9007199254740993")]} />);
    expect(screen.getByText(/behind, lag 9,007,199,254,740,993/)).toBeTruthy();
  });

});
