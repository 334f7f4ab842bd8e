import { formatCompactCount } from "./format-number.ts";
import { describe, expect, it } from "vitest";
import {
  formatTimeTick,
  layoutLagChart,
  linePath,
  linearScale,
  niceMax,
  niceStep,
  timeTicks,
  toChartValue,
  valueTicks,
} from "./lag-chart.ts";

describe("linearScale", () => {
  it("maps the domain onto the range, inverted ranges included (SVG y grows downwards)", () => {
    const y = linearScale([0, 100], [200, 0]);
    expect(y(0)).toBe(200);
    expect(y(100)).toBe(0);
    expect(y(25)).toBe(150);
  });

  it("maps a zero-width domain to the middle instead of dividing by zero", () => {
    expect(linearScale([5, 5], [0, 10])(5)).toBe(5);
  });
});

describe("value axis", () => {
  it("rounds steps to 1, 2 or 5 × 10^k and the top up to a step", () => {
    expect(niceStep(312, 4)).toBe(100);
    expect(niceStep(7, 4)).toBe(2);
    expect(niceStep(3334, 4)).toBe(1000);
    expect(niceMax(312)).toBe(400);
    expect(niceMax(3334)).toBe(4000);
    expect(niceMax(0)).toBe(4);
    expect(valueTicks(400)).toEqual([0, 100, 200, 300, 400]);
  });

  it("never gives fractional record counts", () => {
    expect(niceStep(2, 4)).toBe(1);
    expect(valueTicks(niceMax(2))).toEqual([0, 1, 2]);
  });

  it("formats counts compactly", () => {
    expect(formatCompactCount(1234)).toBe("1.2K");
    expect(formatCompactCount(15_000)).toBe("15K");
    expect(formatCompactCount(1_500_000)).toBe("1.5M");
    expect(formatCompactCount(2e9)).toBe("2B");
  });
});

describe("time axis", () => {
  const T0 = Date.parse("2026-11-23T10:00:00Z");

  it("puts ticks on round times within the window", () => {
    expect(timeTicks(T0 + 7 * 60_000, T0 + 67 * 60_000).map((t) => new Date(t).toISOString().slice(11, 16))).toEqual([
      "10:15", "10:30", "10:45", "11:00",
    ]);
    expect(timeTicks(T0, T0)).toEqual([]);
  });

  it("labels ticks for the window's span", () => {
    expect(formatTimeTick(T0 + 30_000, 5 * 60_000)).toBe("10:00:30");
    expect(formatTimeTick(T0, 3_600_000)).toBe("10:00");
    expect(formatTimeTick(T0, 7 * 86_400_000)).toBe("11-23 10:00");
  });
});

describe("linePath", () => {
  const x = linearScale([0, 100], [0, 100]);
  const y = linearScale([0, 10], [100, 0]);

  it("draws known points in time order", () => {
    expect(linePath([{ t: 50, v: 5 }, { t: 0, v: 0 }, { t: 100, v: 10 }], x, y)).toBe("M0,100L50,50L100,0");
  });

  it("breaks the line where lag is unknown instead of dropping to 0", () => {
    const d = linePath([{ t: 0, v: 2 }, { t: 10, v: 4 }, { t: 20, v: null }, { t: 30, v: 6 }, { t: 40, v: 8 }], x, y);
    expect(d).toBe("M0,80L10,60M30,40L40,20");
  });

  it("keeps a lone known point visible as a short tick", () => {
    expect(linePath([{ t: 0, v: null }, { t: 10, v: 5 }, { t: 20, v: null }], x, y)).toBe("M10,50H12");
    expect(linePath([{ t: 0, v: null }], x, y)).toBe("");
  });
});

describe("layoutLagChart", () => {
  it("lays out every series on one value scale, with their last and largest values", () => {
    const layout = layoutLagChart({
      series: [
        { name: "total", points: [{ t: 0, v: 100 }, { t: 60_000, v: 312 }] },
        { name: "orders/0", points: [{ t: 0, v: null }, { t: 60_000, v: 12 }] },
      ],
      from: 0,
      to: 60_000,
      width: 600,
      height: 200,
    });
    expect(layout.yMax).toBe(400);
    expect(layout.empty).toBe(false);
    expect(layout.series.map((s) => [s.name, s.last, s.max])).toEqual([["total", 312, 312], ["orders/0", 12, 12]]);
    expect(layout.series[0]!.d).toMatch(/^M56,\d+(\.\d)?L588,\d+(\.\d)?$/);
    expect(layout.series[0]!.color).not.toBe(layout.series[1]!.color);
    expect(layout.yTicks.map((t) => t.label)).toEqual(["0", "100", "200", "300", "400"]);
    expect(layout.xTicks.length).toBeGreaterThan(1);
  });

  it("says when the window has no known value", () => {
    const layout = layoutLagChart({ series: [{ name: "a", points: [{ t: 1, v: null }] }], from: 0, to: 10, width: 100, height: 50 });
    expect(layout.empty).toBe(true);
    expect(layout.series[0]!.d).toBe("");
  });

  it("reads int64 decimals as chart numbers, unknown as null", () => {
    expect(toChartValue("3334")).toBe(3334);
    expect(toChartValue(null)).toBeNull();
  });
});
