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

    if (fs.existsSync(path.join(folder, "loading.tsx"))) {
      const { default: Loading } = (await import(path.join(folder, "loading.tsx"))) as { default: ComponentType };
      expect(renderToStaticMarkup(<Loading />)).toMatch(/Loading [^<]+…/);
    }
  });

  it("list pages show a loading state; pages that can be 404 have none above them, so the 404 keeps its status", () => {
    // A loading.tsx makes Next stream the page: the 200 is sent before notFound() can say 404.
    const canBe404 = folders.filter((folder) => fs.readFileSync(path.join(folder, "page.tsx"), "utf8").includes("notFound()"));
    expect(canBe404.length).toBeGreaterThanOrEqual(5);
    for (const folder of canBe404) {
      for (let dir = folder; dir.startsWith(APP); dir = path.dirname(dir)) {
        expect(fs.existsSync(path.join(dir, "loading.tsx")), `${path.relative(APP, dir)}/loading.tsx streams ${path.relative(APP, folder)}`).toBe(false);
      }
    }
    const lists = folders.filter((folder) => !canBe404.includes(folder));
    for (const folder of lists) expect(fs.existsSync(path.join(folder, "loading.tsx")), path.relative(APP, folder)).toBe(true);
  });
});
