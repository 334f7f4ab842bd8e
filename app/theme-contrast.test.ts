import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { AA_NON_TEXT, AA_TEXT, contrastRatio } from "@/lib/contrast";

/** The theme's colours as app/globals.css defines them: each variable's light and dark value. */
function readPalette(): Map<string, { light: string; dark: string }> {
  const css = fs.readFileSync(path.join(import.meta.dirname, "globals.css"), "utf8");
  const root = /:root\s*\{([^}]*)\}/.exec(css)![1]!;
  const palette = new Map<string, { light: string; dark: string }>();
  for (const [, name, light, dark] of root.matchAll(/(--es-[\w-]+):\s*light-dark\((#[0-9a-f]+),\s*(#[0-9a-f]+)\)/gi)) {
    palette.set(name!, { light: light!, dark: dark! });
  }
  return palette;
}

const palette = readPalette();
const TEXT = ["--es-fg", "--es-fg-2", "--es-muted", "--es-accent", "--es-ok", "--es-warn", "--es-stall", "--es-stop", "--es-fail", "--es-comp", "--es-step"];
const SURFACES = ["--es-bg", "--es-bg-soft", "--es-bg-selected"];
/** Text drawn on a tinted background of its own (badges, banners, tags). */
const ON_TINT: [string, string][] = [
  ["--es-ok", "--es-ok-soft"],
  ["--es-ok-fg", "--es-ok-soft"],
  ["--es-warn", "--es-warn-soft"],
  ["--es-warn-fg", "--es-warn-soft"],
  ["--es-stall", "--es-stall-soft"],
  ["--es-stop", "--es-stop-soft"],
  ["--es-stop-fg", "--es-stop-soft"],
  ["--es-info-fg", "--es-info-soft"],
  ["--es-fail", "--es-fail-soft"],
  ["--es-comp", "--es-comp-soft"],
  ["--es-muted", "--es-ok-soft"],
  ["--es-on-fill", "--es-accent"],
  ["--es-on-fill", "--es-stop"],
  ["--es-on-fill", "--es-warn"],
  ["--es-on-fill", "--es-inverse-bg"],
];
/** Marks that carry meaning without text (timeline dots, chart lines) against the page. */
const GRAPHICS = ["--es-step", "--es-fail", "--es-comp", "--es-border-strong", ...Array.from({ length: 10 }, (_, i) => `--es-series-${i + 1}`)];

describe("the theme's colours (app/globals.css)", () => {
  it("defines every variable the checks name, for both themes", () => {
    for (const name of [...TEXT, ...SURFACES, ...ON_TINT.flat(), ...GRAPHICS]) expect(palette.has(name), name).toBe(true);
  });

  for (const theme of ["light", "dark"] as const) {
    it(`meets WCAG AA in the ${theme} theme: text 4.5:1 on every surface and on its tint`, () => {
      const failures: string[] = [];
      const check = (fg: string, bg: string, minimum: number) => {
        const ratio = contrastRatio(palette.get(fg)![theme], palette.get(bg)![theme]);
        if (ratio < minimum) failures.push(`${fg} on ${bg}: ${ratio.toFixed(2)}`);
      };
      for (const fg of TEXT) for (const bg of SURFACES) check(fg, bg, AA_TEXT);
      for (const [fg, bg] of ON_TINT) check(fg, bg, AA_TEXT);
      for (const mark of GRAPHICS) for (const bg of ["--es-bg", "--es-bg-soft"]) check(mark, bg, AA_NON_TEXT);
      expect(failures).toEqual([]);
    });
  }

  it("is told apart from an unreadable pair", () => {
    expect(contrastRatio("#777777", "#ffffff")).toBeLessThan(AA_TEXT);
    expect(contrastRatio("#000", "#fff")).toBeCloseTo(21);
  });
});
