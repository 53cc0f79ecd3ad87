export { loadCatalog, platformsToMirror, expandCatalog, entryImageUses, type Catalog, type CatalogSource, type CatalogEntry, type CatalogProblem, type ImageNeed, type ImageUseSite } from "./catalog.js";
export { globFiles, hasGlob, type GlobResult } from "./glob.js";
