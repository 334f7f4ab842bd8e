import fs from "node:fs";
import path from "node:path";
import type { ComponentType } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";

const APP = path.resolve(import.meta.dirname, "..", "..", "app");

/** Every folder of app/ (outside app/api) that has a page. */
function pageFolders(dir = APP): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === "api") continue;
    found.push(...pageFolders(path.join(dir, entry.name)));
  }
  if (fs.existsSync(path.join(dir, "page.tsx"))) found.push(dir);
  return found;
}

type ErrorPage = ComponentType<{ error: Error & { digest?: string }; reset: () => void }>;

describe("every page says in its own words that it failed or is loading", () => {
  const folders = pageFolders();

  it("finds the pages", () => {
    expect(folders.length).toBeGreaterThanOrEqual(10);
  });

  it.each(folders.map((folder) => [path.relative(APP, folder) || "/", folder]))("%s", async (_name, folder) => {
    const { default: ErrorPage } = (await import(path.join(folder, "error.tsx"))) as { default: ErrorPage };
    const failed = renderToStaticMarkup(<ErrorPage error={Object.assign(new Error("hidden"), { digest: "1234567" })} reset={() => {}} />);
    expect(failed).toMatch(/<h1>[^<]+ could not be loaded<\/h1>/);
    expect(failed).toContain("error id 1234567");
    expect(failed).toContain("Try again");
    // Without a digest (development), the message itself.
    expect(renderToStaticMarkup(<ErrorPage error={new Error("database unreachable")} reset={() => {}} />)).toContain("database unreachable");

    const { default: Loading } = (await import(path.join(folder, "loading.tsx"))) as { default: ComponentType };
    expect(renderToStaticMarkup(<Loading />)).toMatch(/Loading [^<]+…/);
  });
});
