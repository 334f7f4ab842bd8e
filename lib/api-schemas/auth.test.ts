import { describe, expect, it } from "vitest";
import { safeNextPath } from "./auth.ts";

const DEFAULT_NEXT_PATH = "/dead-letters";

/** Where a browser on https://eventscope.example goes when the login form assigns `location` to `path`. */
function whereTheBrowserGoes(path: string): URL {
  return new URL(path, "https://eventscope.example/login");
}

describe("safeNextPath", () => {
  it("keeps a path on this site, with its query and fragment", () => {
    expect(safeNextPath("/dead-letters/42")).toBe("/dead-letters/42");
    expect(safeNextPath("/events?header=ce_type%3DOrderPlaced&limit=2")).toBe("/events?header=ce_type%3DOrderPlaced&limit=2");
    expect(safeNextPath("/entities/ord-1#event-3")).toBe("/entities/ord-1#event-3");
    expect(safeNextPath("/groups?next=//elsewhere.example")).toBe("/groups?next=//elsewhere.example");
    expect(safeNextPath("/@evil.example")).toBe("/@evil.example");
    // Tabs are dropped as the browser drops them: what is left is a path on this site.
    expect(safeNextPath("/\tjavascript:alert(1)")).toBe("/javascript:alert(1)");
  });

  it("goes to the dead letters when there is no next", () => {
    expect(safeNextPath(undefined)).toBe(DEFAULT_NEXT_PATH);
    expect(safeNextPath(null)).toBe(DEFAULT_NEXT_PATH);
    expect(safeNextPath("")).toBe(DEFAULT_NEXT_PATH);
  });

  const bypasses = [
    ["a tab after the slash", "/\t/evil.example"],
    ["a tab between the slashes and the host", "/\t/\tevil.example/x"],
    ["a newline after the slash", "/\n/evil.example"],
    ["a carriage return after the slash", "/\r/evil.example"],
    ["a tab before the slashes", "\t//evil.example"],
    ["a backslash", "/\\evil.example"],
    ["two backslashes", "\\\\evil.example"],
    ["a backslash after a tab", "/\t\\evil.example"],
    ["scheme-relative", "//evil.example"],
    ["scheme-relative with userinfo", "//user:pass@evil.example"],
    ["userinfo on this path's host", "https://eventscope.example@evil.example/"],
    ["javascript:", "javascript:alert(document.cookie)"],
    ["data:", "data:text/html,<script>alert(1)</script>"],
    ["an absolute URL", "https://evil.example/"],
    ["an absolute URL without slashes", "https:evil.example"],
    ["a dot segment that leaves two slashes", "/.//evil.example"],
    ["dot-dot segments that leave two slashes", "/a/../..//evil.example"],
    ["an encoded dot segment that leaves two slashes", "/%2e//evil.example"],
    ["a leading space", " //evil.example"],
  ] as const;

  it.each(bypasses)("refuses %s", (_name, next) => {
    const safe = safeNextPath(next);
    expect(safe).toBe(DEFAULT_NEXT_PATH);
    expect(whereTheBrowserGoes(safe).origin).toBe("https://eventscope.example");
  });

  it("keeps encoded slashes and backslashes as harmless parts of a path on this site", () => {
    for (const next of ["/%2F/evil.example", "/%2f%2fevil.example", "/%5C/evil.example", "/%09/evil.example", "/%0a/evil.example"]) {
      const safe = safeNextPath(next);
      expect(safe.startsWith("/") && !safe.startsWith("//")).toBe(true);
      expect(whereTheBrowserGoes(safe).origin).toBe("https://eventscope.example");
    }
  });

  it("never sends the browser to another origin, whatever is appended to a slash", () => {
    const pieces = ["/", "\\", "\t", "\n", "\r", ".", "..", "%2e", "%2f", "%5c", "@", ":", "evil.example", "javascript:", " ", "#", "?"];
    for (const a of pieces) {
      for (const b of pieces) {
        for (const c of pieces) {
          const next = `/${a}${b}${c}evil.example`;
          expect(whereTheBrowserGoes(safeNextPath(next)).origin, JSON.stringify(next)).toBe("https://eventscope.example");
        }
      }
    }
  });
});
