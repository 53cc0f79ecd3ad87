export { configSchema, defaultSettings, type Config, type CatalogEntryConfig, type RegistryEntryConfig, type ImageEntryConfig } from "./schema.js";
export { loadConfig, parseConfig, type LoadedConfig, type LoadOptions } from "./load.js";
export { resolvePath } from "../files/index.js";
