export { configSchema, type Config, type CatalogEntryConfig, type RegistryEntryConfig } from "./schema.js";
export { loadConfig, parseConfig, resolvePath, type LoadedConfig, type LoadOptions } from "./load.js";
