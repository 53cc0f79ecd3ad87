export * from "./registry-server.js";
export * from "./token-issuer.js";
export * from "./images.js";
export * from "./random.js";
export * from "./buildkit.js";
export * from "./postgres.js";
