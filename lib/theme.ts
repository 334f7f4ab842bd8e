/**
 * The colour theme: the system's (prefers-color-scheme) unless the user chose one with the
 * header's switch, remembered in localStorage. The choice is applied as `data-theme` on <html>
 * (app/globals.css switches `color-scheme`, and every colour is a light-dark() pair) by a script
 * that runs before the first paint, so that a dark page never flashes light.
 */

export type Theme = "light" | "dark";

export const THEME_STORAGE_KEY = "eventscope-theme";

export function parseTheme(value: unknown): Theme | null {
  return value === "light" || value === "dark" ? value : null;
}

/**
 * The inline script of the root layout: runs in <head> before the body is painted. Kept small
 * and dependency-free; a browser without storage (privacy settings) keeps the system's theme.
 */
export const THEME_BOOT_SCRIPT = `(function(){try{var t=localStorage.getItem(${JSON.stringify(THEME_STORAGE_KEY)});if(t==="light"||t==="dark")document.documentElement.dataset.theme=t;}catch(e){}})();`;
