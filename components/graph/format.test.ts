import { describe, expect, it } from "vitest";
import { ROUTING_KEYS_LABEL_CHARS } from "@/lib/graph-legibility";
import { formatRoutingKeys } from "./format";

describe("a binding edge's routing keys on its label", () => {
  it("shows the first key and how many more there are, within the label's room", () => {
    expect(formatRoutingKeys(["email.requested.#"], ROUTING_KEYS_LABEL_CHARS)).toBe("email.requested.#");
    expect(formatRoutingKeys(["email.requested.#", "email.retry.#", "x"], ROUTING_KEYS_LABEL_CHARS)).toBe("email.requeste… +2");
    expect(formatRoutingKeys(["order.created.eu-west-1.priority"], ROUTING_KEYS_LABEL_CHARS)).toHaveLength(ROUTING_KEYS_LABEL_CHARS);
  });

  it("says nothing for a fanout's or a headers exchange's empty keys", () => {
    expect(formatRoutingKeys([""], ROUTING_KEYS_LABEL_CHARS)).toBe("");
    expect(formatRoutingKeys(["", "bill.#"], ROUTING_KEYS_LABEL_CHARS)).toBe("bill.#");
  });
});
