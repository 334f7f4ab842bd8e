import { describe, expect, it } from "vitest";
import { findFreePort } from "./ports.ts";

describe("findFreePort", () => {
  it("never hands out the same port twice in one process, before anything binds it", async () => {
    // 300 draws from 12,000 ports repeat one about 97 times in 100 without the guard.
    const ports: number[] = [];
    for (let i = 0; i < 300; i++) ports.push(await findFreePort());
    expect(new Set(ports).size).toBe(ports.length);
    expect(ports.every((port) => port >= 20_000 && port < 32_000)).toBe(true);
  });
});
