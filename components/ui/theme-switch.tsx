"use client";

import { useSyncExternalStore } from "react";
import { parseTheme, THEME_STORAGE_KEY, type Theme } from "@/lib/theme";

const DARK_QUERY = "(prefers-color-scheme: dark)";
const listeners = new Set<() => void>();

/** The theme in use: the one chosen (data-theme, set before paint), else the system's. */
function currentTheme(): Theme {
  return parseTheme(document.documentElement.dataset.theme) ?? (window.matchMedia(DARK_QUERY).matches ? "dark" : "light");
}

function subscribe(onChange: () => void): () => void {
  listeners.add(onChange);
  const media = window.matchMedia(DARK_QUERY);
  media.addEventListener("change", onChange);
  // Another tab's choice applies here too.
  const onStorage = (event: StorageEvent) => {
    if (event.key !== THEME_STORAGE_KEY) return;
    const theme = parseTheme(event.newValue);
    if (theme) document.documentElement.dataset.theme = theme;
    else delete document.documentElement.dataset.theme;
    onChange();
  };
  window.addEventListener("storage", onStorage);
  return () => {
    listeners.delete(onChange);
    media.removeEventListener("change", onChange);
    window.removeEventListener("storage", onStorage);
  };
}

/** The theme in use, for components that draw with colours of their own; null on the server. */
export function useTheme(): Theme | null {
  return useSyncExternalStore(subscribe, currentTheme, () => null);
}

/** The header's switch between the light and the dark theme; the choice is remembered. */
export function ThemeSwitch() {
  const theme = useTheme();
  const dark = theme === "dark";
  const choose = (next: Theme) => {
    document.documentElement.dataset.theme = next;
    try {
      localStorage.setItem(THEME_STORAGE_KEY, next);
    } catch {
      // Storage refused (privacy settings): the choice lasts for this page only.
    }
    for (const listener of listeners) listener();
  };
  return (
    <button
      type="button"
      className="site-theme"
      aria-pressed={theme === null ? undefined : dark}
      title={dark ? "Switch to the light theme" : "Switch to the dark theme"}
      onClick={() => choose(dark ? "light" : "dark")}
    >
      <span aria-hidden="true">{dark ? "☾" : "☀"}</span> Dark theme
    </button>
  );
}
