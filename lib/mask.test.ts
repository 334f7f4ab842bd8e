import { describe, expect, it } from "vitest";
import { MASKED, NO_MASK, compileMaskRules, isMaskedPath, maskHeaders, maskJson, maskJsonText, maskReplayEdits } from "./mask.ts";

const rules = compileMaskRules(["cardNumber", "email", "customer.phone"]);

const order = {
  orderId: "ord-1",
  email: "ann@example.com",
  payment: { cardNumber: "4111111111111111", amount: 12.5 },
  customer: { name: "Ann", phone: "+33 1 23", contacts: [{ email: "b@example.com", phone: "kept: not under customer directly" }] },
  items: [{ sku: "A", cardNumber: { nested: true } }],
};

describe("maskJson", () => {
  it("masks listed names at any depth, inside arrays too, and dotted paths", () => {
    expect(maskJson(order, rules)).toEqual({
      orderId: "ord-1",
      email: MASKED,
      payment: { cardNumber: MASKED, amount: 12.5 },
      customer: { name: "Ann", phone: MASKED, contacts: [{ email: MASKED, phone: "kept: not under customer directly" }] },
      items: [{ sku: "A", cardNumber: MASKED }],
    });
  });

  it("matches a dotted path at any depth where the keys end with its segments", () => {
    expect(maskJson({ order: { customer: { phone: "1" } }, phone: "2" }, rules)).toEqual({
      order: { customer: { phone: MASKED } },
      phone: "2",
    });
  });

  it("does not modify its input and returns the same value when nothing matched", () => {
    const copy = structuredClone(order);
    maskJson(order, rules);
    expect(order).toEqual(copy);
    const clean = { a: 1, b: [{ c: "x" }] };
    expect(maskJson(clean, rules)).toBe(clean);
    expect(maskJson(order, NO_MASK)).toBe(order);
    expect(maskJson("email", rules)).toBe("email");
  });
});

describe("maskJsonText", () => {
  it("masks whole JSON text like maskJson does", () => {
    const text = JSON.stringify(order);
    expect(JSON.parse(maskJsonText(text, rules))).toEqual(maskJson(order, rules));
  });

  it("keeps PostgreSQL's jsonb spacing and everything else as it is", () => {
    const text = '{"email": "a@b.c", "n": -1.5e3, "ok": true, "none": null, "s": "with \\"quotes\\", commas and }"}';
    expect(maskJsonText(text, rules)).toBe('{"email": "***", "n": -1.5e3, "ok": true, "none": null, "s": "with \\"quotes\\", commas and }"}');
  });

  it("shows nothing of a masked value when the preview ends inside it", () => {
    const full = '{"orderId": "ord-1", "email": "ann@example.com", "total": 3}';
    for (let cut = 1; cut <= full.length; cut++) {
      const masked = maskJsonText(full.slice(0, cut), rules);
      expect(masked).not.toMatch(/ann|@example/);
      expect(masked.startsWith(full.slice(0, Math.min(cut, full.indexOf('"email"'))))).toBe(true);
    }
    expect(maskJsonText('{"orderId": "ord-1", "email": "ann@exa', rules)).toBe('{"orderId": "ord-1", "email": "***"');
    expect(maskJsonText('{"payment": {"cardNumber": {"pan": "4111', rules)).toBe('{"payment": {"cardNumber": "***"');
  });

  it("masks nested objects and arrays as values, and dotted paths", () => {
    const text = '{"cardNumber": {"a": [1, {"b": "}"}]}, "customer": {"phone": [1, 2]}, "tail": 1}';
    expect(maskJsonText(text, rules)).toBe('{"cardNumber": "***", "customer": {"phone": "***"}, "tail": 1}');
  });

  it("leaves text alone without rules", () => {
    expect(maskJsonText('{"email": "x"}', NO_MASK)).toBe('{"email": "x"}');
  });
});

describe("maskHeaders", () => {
  it("replaces listed header values, case-insensitively, keeping order and repeats", () => {
    const headers = [
      { key: "traceparent", value: "00-abc", encoding: "utf8" as const },
      { key: "Email", value: "YW5uQGV4YW1wbGUuY29t", encoding: "base64" as const },
      { key: "email", value: "b@example.com", encoding: "utf8" as const },
      { key: "cardNumber", value: null, encoding: "utf8" as const },
    ];
    expect(maskHeaders(headers, rules)).toEqual([
      { key: "traceparent", value: "00-abc", encoding: "utf8" },
      { key: "Email", value: MASKED, encoding: "utf8" },
      { key: "email", value: MASKED, encoding: "utf8" },
      { key: "cardNumber", value: null, encoding: "utf8" },
    ]);
    const clean = [{ key: "traceparent", value: "x", encoding: "utf8" as const }];
    expect(maskHeaders(clean, rules)).toBe(clean);
  });
});

describe("isMaskedPath", () => {
  it("needs a key: the root itself is never masked", () => {
    expect(isMaskedPath([], rules)).toBe(false);
    expect(isMaskedPath(["customer", "phone"], rules)).toBe(true);
    expect(isMaskedPath(["phone"], rules)).toBe(false);
    expect(isMaskedPath(["customer.phone"], rules)).toBe(true);
  });
});

describe("maskReplayEdits", () => {
  const edits = {
    value: { before: '{"orderId":"ord-1","cardNumber":"4111111111111111"}', after: '{"orderId":"ord-1","cardNumber":"5500000000000004"}' },
    headers: { removed: [{ key: "email", value: "ann@example.com" }], added: [{ key: "Email", value: "bob@example.com" }, { key: "retry", value: "1" }] },
  };

  it("masks the edited value's fields on both sides and the listed headers, keeping the rest", () => {
    expect(maskReplayEdits(edits, rules)).toEqual({
      value: { before: '{"orderId":"ord-1","cardNumber":"***"}', after: '{"orderId":"ord-1","cardNumber":"***"}' },
      headers: { removed: [{ key: "email", value: MASKED }], added: [{ key: "Email", value: MASKED }, { key: "retry", value: "1" }] },
    });
    // The stored edits are left as they were.
    expect(edits.value.before).toContain("4111111111111111");
  });

  it("returns what it was given when nothing is masked or the shape is not a replay's edits", () => {
    expect(maskReplayEdits(edits, NO_MASK)).toBe(edits);
    const plain = { value: { before: null, after: '{"orderId":"ord-2"}' } };
    expect(maskReplayEdits(plain, rules)).toBe(plain);
    expect(maskReplayEdits(null, rules)).toBeNull();
    expect(maskReplayEdits("text", rules)).toBe("text");
  });
});
