import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { THEME_BOOT_SCRIPT, THEME_STORAGE_KEY } from "@/lib/theme";
import { ThemeSwitch } from "./theme-switch";

/** The system's colour scheme as matchMedia answers it (jsdom has no matchMedia of its own). */
function systemPrefersDark(dark: boolean) {
  vi.stubGlobal("matchMedia", (query: string) => ({
    matches: query === "(prefers-color-scheme: dark)" && dark,
    media: query,
    addEventListener: () => {},
    removeEventListener: () => {},
  }));
}

beforeEach(() => {
  localStorage.clear();
  delete document.documentElement.dataset.theme;
});

describe("ThemeSwitch", () => {
  it("shows the system's theme until it is used, then remembers the choice", async () => {
    systemPrefersDark(true);
    const user = userEvent.setup();
    render(<ThemeSwitch />);
    const button = screen.getByRole("button", { name: "Dark theme" });
    expect(button.getAttribute("aria-pressed")).toBe("true");
    expect(document.documentElement.dataset.theme).toBeUndefined();

    await user.click(button);
    expect(button.getAttribute("aria-pressed")).toBe("false");
    expect(document.documentElement.dataset.theme).toBe("light");
    expect(localStorage.getItem(THEME_STORAGE_KEY)).toBe("light");

    await user.click(button);
    expect(document.documentElement.dataset.theme).toBe("dark");
    expect(localStorage.getItem(THEME_STORAGE_KEY)).toBe("dark");
  });
});

describe("the boot script", () => {
  it("applies a remembered choice, and nothing else", () => {
    const run = () => new Function(THEME_BOOT_SCRIPT)() as void;
    run();
    expect(document.documentElement.dataset.theme).toBeUndefined();
    localStorage.setItem(THEME_STORAGE_KEY, "dark");
    run();
    expect(document.documentElement.dataset.theme).toBe("dark");
    delete document.documentElement.dataset.theme;
    localStorage.setItem(THEME_STORAGE_KEY, "<img src=x onerror=alert(1)>");
    run();
    expect(document.documentElement.dataset.theme).toBeUndefined();
  });
});
