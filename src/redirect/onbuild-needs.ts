/**
 * Images a held base's ONBUILD triggers pull (`ONBUILD COPY --from=helper:2 …`): a tenant's build
 * pulls them too, so they are redirected like the catalog's own. The triggers are read from the
 * mirror's copy (our registry, no pull counted upstream), as the warm run reads them.
 */
import { readOnbuild } from "../onbuild/index.js";
import type { RegistryClient } from "../registry/index.js";
import type { HeldImage, RedirectNeed } from "./holdings.js";

export interface OnbuildNeeds {
  /** Images not already among the needs, with the platforms of the base that pulls them. */
  needs: RedirectNeed[];
  /** Malformed triggers and unreadable configs, one line each. */
  problems: string[];
}

export async function onbuildNeeds(held: readonly HeldImage[], needs: readonly RedirectNeed[], client: RegistryClient): Promise<OnbuildNeeds> {
  const known = new Set(needs.map((need) => need.reference.toString()));
  const out: OnbuildNeeds = { needs: [], problems: [] };
  for (const image of held) {
    const base = image.source.toString();
    const platforms = needs.find((need) => need.reference.toString() === base)?.platforms ?? [];
    const found = await readOnbuild(client, base, image.mirror);
    out.problems.push(...found.problems.map((p) => p.message));
    for (const pulled of found.images) {
      const key = pulled.use.reference.toString();
      if (known.has(key)) continue;
      known.add(key);
      out.needs.push({ reference: pulled.use.reference, platforms });
    }
  }
  return out;
}
