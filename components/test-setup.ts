import { cleanup } from "@testing-library/react";
import { afterEach, vi } from "vitest";

// Without vitest's globals, Testing Library cannot unmount by itself: each test starts on an empty page.
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});
