import { describe, expect, it } from "vitest";
import { base64ToBytes, bytesAsText, headerValueText, hexDump, prettyJson } from "./value-format.ts";

describe("value formatting", () => {
  it("dumps bytes as offset, hex and printable ASCII, 16 per line", () => {
    const bytes = new Uint8Array([...Buffer.from("<b>hi</b>"), 0x00, 0xff, 0x0a, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46]);
    expect(hexDump(bytes).split("\n")).toEqual([
      "00000000  3c 62 3e 68 69 3c 2f 62 3e 00 ff 0a 41 42 43 44  |<b>hi</b>...ABCD|",
      "00000010  45 46                                            |EF|",
    ]);
  });

  it("stops a long dump and says how much it left out", () => {
    const dump = hexDump(new Uint8Array(100), 32);
    expect(dump.split("\n")).toHaveLength(3);
    expect(dump).toMatch(/68 more bytes not shown$/);
  });

  it("decodes base64 and shows invalid UTF-8 as replacement characters", () => {
    expect(bytesAsText(base64ToBytes(Buffer.from("ord-1").toString("base64")))).toBe("ord-1");
    expect(bytesAsText(new Uint8Array([0x61, 0xff]))).toBe("a\ufffd");
  });

  it("indents JSON", () => {
    expect(prettyJson({ orderId: "ord-1", items: [1] })).toBe('{\n  "orderId": "ord-1",\n  "items": [\n    1\n  ]\n}');
  });

  it("shows a text header as it is and a binary one in hex", () => {
    expect(headerValueText({ value: "OrderPlaced", encoding: "utf8" })).toBe("OrderPlaced");
    expect(headerValueText({ value: Buffer.from([0, 0, 0, 2]).toString("base64"), encoding: "base64" })).toBe("00 00 00 02");
    expect(headerValueText({ value: null, encoding: "utf8" })).toBe("(null)");
  });
});
