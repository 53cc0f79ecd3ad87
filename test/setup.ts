import { afterEach, expect } from "vitest";
import { startedProcessWarnings } from "./helpers/cli.js";

// A Node warning from a long-running basewarm (serve, a stopped run) fails the test that started it.
afterEach(() => {
  const seen = startedProcessWarnings.splice(0);
  expect(seen, "Node warnings printed by basewarm processes").toEqual([]);
});
