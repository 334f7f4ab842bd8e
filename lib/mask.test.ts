import { describe, expect, it } from "vitest";
import { MASKED, NO_MASK, compileMaskRules, isMaskedPath, maskHeaders, maskJson, maskJsonText, maskReplayEdits, maskValueText } from "./mask.ts";

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

describe("maskJsonText, strictly", () => {
  it("stops where the text stops being JSON, so nothing after that point is shown", () => {
    expect(maskJsonText('{"orderId": "ord-1", "email" "ann@example.com"}', rules)).toBe('{"orderId": "ord-1", "email" ');
    expect(maskJsonText('{"orderId": "ord-1",, "email": "ann@example.com"}', rules)).toBe('{"orderId": "ord-1",');
    expect(maskJsonText('{"a": 1} {"email": "ann@example.com"}', rules)).toBe('{"a": 1} ');
    expect(maskJsonText('{"a": "bad \\x escape", "email": "ann"}', rules)).toBe('{"a": ');
    expect(maskJsonText('{"email": "ann@example.com", }', rules)).toBe('{"email": "***", ');
    expect(maskJsonText('{"email": {"a": 1] , "b": "ann"}', rules)).toBe('{"email": "***"');
  });

  it("reads keys with escapes as the names they spell", () => {
    expect(maskJsonText('{"em\\u0061il": "ann@example.com", "x\\"": 1}', rules)).toBe('{"em\\u0061il": "***", "x\\"": 1}');
  });

  it("masks inside any depth of nesting", () => {
    const depth = 100_000;
    const text = `${"[".repeat(depth)}{"email": "ann@example.com"}${"]".repeat(depth)}`;
    expect(maskJsonText(text, rules)).toBe(`${"[".repeat(depth)}{"email": "***"}${"]".repeat(depth)}`);
  });
});

describe("maskValueText", () => {
  it("masks text that looks like JSON as far as it is JSON, and keeps other text", () => {
    // A value stored cut (over EVENTSCOPE_MAX_VALUE_BYTES), or with a number JSON cannot hold exactly.
    expect(maskValueText('{"orderId": "ord-1", "email": "ann@exam', rules)).toBe('{"orderId": "ord-1", "email": "***"');
    expect(maskValueText('\uFEFF [{"cardNumber": 4111111111111111, "n": 123456789012345678901234567890}]', rules)).toBe(
      '\uFEFF [{"cardNumber": "***", "n": 123456789012345678901234567890}]',
    );
    expect(maskValueText("email=ann@example.com", rules)).toBe("email=ann@example.com");
    expect(maskValueText('{"email": "ann"}', NO_MASK)).toBe('{"email": "ann"}');
  });
});

/**
 * Property tests: random JSON documents from a small seeded generator, written out in several
 * styles (compact, PostgreSQL's jsonb spacing, random white space and \u escapes), masked whole
 * and cut at every point. The oracle is JSON.parse followed by maskJson on the parsed value.
 */
describe("maskJsonText on any JSON, cut anywhere", () => {
  /** Every character of a masked string carries this mark; no other string does. */
  const SECRET = "§";
  const propertyRules = compileMaskRules(["email", "cardNumber", "customer.phone", "nested"]);
  const KEYS = ["email", "cardNumber", "customer", "phone", "nested", "Email", "orderId", "a", "", "x y", 'q"uote', "back\\slash", "é", "0", "customer.phone"];
  const CHARACTERS = ["a", "Z", "0", " ", '"', "\\", "/", "{", "}", "[", "]", ",", ":", "\n", "\t", "\u0001", "é", "\u2028", "😀", "\uD800"];

  /** mulberry32: a small PRNG, so that a failing seed can be replayed. */
  function random(seed: number): () => number {
    let state = seed;
    return () => {
      state = (state + 0x6d2b79f5) | 0;
      let t = Math.imul(state ^ (state >>> 15), 1 | state);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
    };
  }
  const pick = <T,>(next: () => number, items: readonly T[]): T => items[Math.floor(next() * items.length)]!;

  function generate(next: () => number, path: readonly string[], depth: number): unknown {
    const masked = isMaskedPath(path, propertyRules);
    const kind = Math.floor(next() * (depth >= 5 ? 4 : 7));
    if (kind === 0) {
      const text = Array.from({ length: Math.floor(next() * 6) }, () => pick(next, CHARACTERS)).join("");
      return masked ? [...text].map((c) => c + SECRET).join("") + SECRET : text;
    }
    if (kind === 1) return (next() < 0.5 ? -1 : 1) * Math.floor(next() * 1e9) / pick(next, [1, 1_000, 1e-7]);
    if (kind === 2) return next() < 0.5;
    if (kind === 3) return null;
    if (kind === 6) return Array.from({ length: Math.floor(next() * 4) }, () => generate(next, path, depth + 1));
    const object: Record<string, unknown> = {};
    for (let n = Math.floor(next() * 5); n > 0; n--) {
      const key = pick(next, KEYS);
      object[key] = generate(next, masked ? path : [...path, key], depth + 1);
    }
    return object;
  }

  /** The values under masked paths, as found by walking the parsed document. */
  function hasMaskedValue(value: unknown): boolean {
    return JSON.stringify(value) !== JSON.stringify(maskJson(value, propertyRules));
  }

  function whiteSpace(next: () => number): string {
    return pick(next, ["", "", " ", "\n", "\t", "\r\n  "]);
  }

  function writeString(text: string, next: () => number): string {
    let out = '"';
    for (const unit of text.split("")) {
      out += next() < 0.25 ? `\\u${unit.charCodeAt(0).toString(16).padStart(4, "0")}` : JSON.stringify(unit).slice(1, -1);
    }
    return `${out}"`;
  }

  /** JSON text in a random style: white space anywhere JSON allows it, \u escapes, exponents. */
  function write(value: unknown, next: () => number): string {
    if (typeof value === "string") return writeString(value, next);
    if (typeof value === "number") return next() < 0.3 ? value.toExponential().replace("e+", pick(next, ["e+", "E", "e"])) : String(value);
    if (value === null || typeof value === "boolean") return String(value);
    const ws = () => whiteSpace(next);
    if (Array.isArray(value)) return `[${ws()}${value.map((item) => `${write(item, next)}${ws()}`).join(`,${ws()}`)}]`;
    const members = Object.entries(value as Record<string, unknown>).map(([key, item]) => `${writeString(key, next)}${ws()}:${ws()}${write(item, next)}${ws()}`);
    return `{${ws()}${members.join(`,${ws()}`)}}`;
  }

  function jsonbText(value: unknown): string {
    // PostgreSQL's jsonb output: ", " between members and items, ": " after keys.
    if (Array.isArray(value)) return `[${value.map(jsonbText).join(", ")}]`;
    if (typeof value === "object" && value !== null) {
      return `{${Object.entries(value).map(([key, item]) => `${JSON.stringify(key)}: ${jsonbText(item)}`).join(", ")}}`;
    }
    return JSON.stringify(value);
  }

  const SEEDS = 400;

  it("masks whole documents as maskJson masks the parsed value", () => {
    for (let seed = 0; seed < SEEDS; seed++) {
      const next = random(seed);
      const value = generate(next, [], 0);
      for (const text of [JSON.stringify(value), jsonbText(value), write(value, next), ` ${write(value, next)}\n`]) {
        const masked = maskJsonText(text, propertyRules);
        expect(JSON.parse(masked), `seed ${seed}: ${text}`).toEqual(maskJson(JSON.parse(text), propertyRules));
        expect(masked.includes(SECRET), `seed ${seed}`).toBe(false);
      }
    }
  });

  it("shows no masked value at any cut point, and shows a prefix of the masked whole", () => {
    let withMaskedValues = 0;
    for (let seed = 0; seed < SEEDS; seed++) {
      const next = random(seed);
      const value = generate(next, [], 0);
      if (hasMaskedValue(value)) withMaskedValues++;
      for (const text of [jsonbText(value), write(value, next)]) {
        const whole = maskJsonText(text, propertyRules);
        for (let cut = 0; cut <= text.length; cut++) {
          const shown = maskJsonText(text.slice(0, cut), propertyRules);
          if (shown.includes(SECRET) || !whole.startsWith(shown)) {
            expect.fail(`seed ${seed}, cut ${cut}: ${JSON.stringify(text.slice(0, cut))} was shown as ${JSON.stringify(shown)}`);
          }
        }
      }
    }
    // The generator does produce masked values (a test that cannot fail is a defect).
    expect(withMaskedValues).toBeGreaterThan(SEEDS / 10);
  });

  it("shows nothing after the point where the text stops being JSON", () => {
    for (let seed = 0; seed < SEEDS; seed++) {
      const next = random(seed);
      const text = write(generate(next, [], 0), next);
      const at = Math.floor(next() * (text.length + 1));
      // A control character is JSON nowhere: neither white space nor allowed raw inside a string.
      const broken = `${text.slice(0, at)}\u0007${text.slice(at)}`;
      const shown = maskJsonText(broken, propertyRules);
      const prefix = maskJsonText(text.slice(0, at), propertyRules);
      if (shown.includes(SECRET) || !prefix.startsWith(shown)) {
        expect.fail(`seed ${seed}, broken at ${at}: ${JSON.stringify(broken)} was shown as ${JSON.stringify(shown)}`);
      }
    }
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
