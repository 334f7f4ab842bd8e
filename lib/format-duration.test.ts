import { describe, expect, it } from "vitest";
import { formatDuration } from "./format-duration.ts";

describe("formatDuration", () => {
  it.each([
    [0, "0 s"],
    [-5, "0 s"],
    [Number.NaN, "0 s"],
    [250, "250 ms"],
    [45_000, "45 s"],
    [60_000, "1 min"],
    [300_000, "5 min"],
    [305_000, "5 min 5 s"],
    [7_200_000, "2 h"],
    [7_380_000, "2 h 3 min"],
    [7_201_000, "2 h"],
    [3 * 86_400_000 + 4 * 3_600_000 + 59_000, "3 d 4 h"],
  ])("%d ms reads %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
