export { loadCatalog, expandCatalog, entryImageUses, type Catalog, type CatalogEntry, type CatalogProblem, type ImageNeed, type ImageUseSite } from "./catalog.js";
export { globFiles, hasGlob } from "./glob.js";
