import { afterAll, beforeAll } from "vitest";
import { startRegistry, type RegistryOptions, type RunningRegistry } from "../../testkit/registry-server.js";

/**
 * Start a real registry for the enclosing describe block and stop it afterwards.
 * Returns a getter because the registry only exists once beforeAll has run.
 */
export function useRegistry(options: RegistryOptions = {}): () => RunningRegistry {
  let registry: RunningRegistry | undefined;
  beforeAll(async () => {
    registry = await startRegistry(options);
  });
  afterAll(async () => {
    await registry?.stop();
  });
  return () => {
    if (!registry) throw new Error("registry not started yet (use it inside a test)");
    return registry;
  };
}
