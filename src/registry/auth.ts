/**
 * Registry authentication: learns each host's scheme from its `WWW-Authenticate` challenge,
 * then answers "which Authorization header for these scopes?". Bearer tokens are cached per
 * host and exact scope set until shortly before `expires_in`, and concurrent fetches of the same
 * token are merged (distribution token spec, "Token Authentication Specification").
 */
import { z } from "zod";
import { BasewarmError } from "../errors.js";
import type { Logger } from "../log/index.js";
import type { SecretRedactor } from "../log/redact.js";
import type { Credential, CredentialSource } from "./credentials.js";

export interface Challenge {
  scheme: "basic" | "bearer";
  params: Record<string, string>;
}

/** Parse `Bearer realm="x",service="y",scope="a b"` (RFC 9110 auth-params, quoted or token values). */
export function parseChallenge(header: string | undefined | null): Challenge | undefined {
  if (!header) return undefined;
  const match = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!match) return undefined;
  const scheme = (match[1] ?? "").toLowerCase();
  if (scheme !== "basic" && scheme !== "bearer") return undefined;
  const params: Record<string, string> = {};
  const paramRe = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/gy;
  const rest = match[2] ?? "";
  let m: RegExpExecArray | null;
  while ((m = paramRe.exec(rest)) !== null && m[0].length > 0) {
    const key = (m[1] ?? "").toLowerCase();
    params[key] = m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : (m[3] ?? "");
  }
  return { scheme, params };
}

/**
 * One token request, retried by the caller's policy; `body` is capped (`truncated` says the
 * service sent more than the cap).
 */
export interface TokenFetch {
  (url: URL, init: { method: "GET" | "POST"; headers: Record<string, string>; body?: string }, registry: string): Promise<{ status: number; body: string; truncated: boolean }>;
}

/**
 * A token response (distribution token spec, "Token Response Fields"; OAuth2 services send
 * `access_token`). Other fields are allowed and ignored.
 */
const tokenResponse = z.object({
  token: z.string().optional(),
  access_token: z.string().optional(),
  expires_in: z.number().optional(),
}).refine((r) => Boolean(r.token || r.access_token), "no token or access_token");

interface CachedToken {
  value: string;
  expiresAt: number;
}

export interface AuthenticatorOptions {
  credentials?: CredentialSource | undefined;
  fetchToken: TokenFetch;
  logger: Logger;
  /** Learns every secret used or obtained here, so echoes of them can be removed from messages. */
  redactor?: SecretRedactor;
  now?: () => number;
}

export function basicHeader(username: string, password: string): string {
  return "Basic " + Buffer.from(`${username}:${password}`).toString("base64");
}

export class Authenticator {
  private readonly challenges = new Map<string, Challenge>();
  private readonly tokens = new Map<string, CachedToken>();
  private readonly pending = new Map<string, Promise<CachedToken>>();
  private readonly credentialCache = new Map<string, Promise<Credential | undefined>>();
  private readonly options: AuthenticatorOptions;
  private readonly now: () => number;

  constructor(options: AuthenticatorOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  /** Remember the scheme a host asked for; returns false when the header is not a usable challenge. */
  learn(host: string, header: string | undefined | null): boolean {
    const challenge = parseChallenge(header);
    if (!challenge) return false;
    // A later challenge (e.g. error="invalid_token") may omit realm/service: keep what we knew.
    const known = this.challenges.get(host);
    const merged = known?.scheme === challenge.scheme ? { scheme: challenge.scheme, params: { ...known.params, ...challenge.params } } : challenge;
    this.challenges.set(host, merged);
    return true;
  }

  challengeFor(host: string): Challenge | undefined {
    return this.challenges.get(host);
  }

  /** The scope a 401 `insufficient_scope` challenge names, if any. */
  static challengeScopes(header: string | undefined | null): string[] {
    const scope = parseChallenge(header)?.params["scope"];
    return scope ? scope.split(" ").filter(Boolean) : [];
  }

  /** Drop cached tokens of a host (after a 401 with a token we thought valid). */
  invalidate(host: string, scopes: string[]): void {
    this.tokens.delete(this.tokenKey(host, scopes));
  }

  private credentialFor(host: string): Promise<Credential | undefined> {
    const cached = this.credentialCache.get(host);
    if (cached) return cached;
    const lookup = (this.options.credentials ? this.options.credentials.get(host) : Promise.resolve(undefined)).then((credential) => {
      this.remember(credential);
      return credential;
    });
    this.credentialCache.set(host, lookup);
    // A failed lookup (helper crashed) is not cached, so the next request tries again.
    lookup.catch(() => this.credentialCache.delete(host));
    return lookup;
  }

  private remember(credential: Credential | undefined): void {
    const redactor = this.options.redactor;
    if (!redactor || !credential) return;
    if (credential.kind === "basic") redactor.addBasic(credential.username, credential.password);
    else redactor.add(credential.token);
  }

  private tokenKey(host: string, scopes: string[]): string {
    return `${host}|${[...new Set(scopes)].sort().join(" ")}`;
  }

  /** The Authorization header to send to `host` for `scopes`, or undefined for anonymous access. */
  async authorization(host: string, scopes: string[]): Promise<string | undefined> {
    const challenge = this.challenges.get(host);
    if (!challenge) return undefined;
    const credential = await this.credentialFor(host);
    if (challenge.scheme === "basic") {
      if (!credential || credential.kind !== "basic") return undefined;
      return basicHeader(credential.username, credential.password);
    }
    if (credential?.kind === "registryToken") return `Bearer ${credential.token}`;
    const key = this.tokenKey(host, scopes);
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > this.now()) return `Bearer ${cached.value}`;
    let inflight = this.pending.get(key);
    if (!inflight) {
      inflight = this.fetchToken(host, challenge, scopes, credential).finally(() => this.pending.delete(key));
      this.pending.set(key, inflight);
    }
    const token = await inflight;
    this.tokens.set(key, token);
    return `Bearer ${token.value}`;
  }

  private async fetchToken(host: string, challenge: Challenge, scopes: string[], credential: Credential | undefined): Promise<CachedToken> {
    const realm = challenge.params["realm"];
    if (!realm) throw new BasewarmError("AUTH_FAILED", `registry ${host} sent a Bearer challenge without a realm; it cannot be authenticated against`);
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new BasewarmError("AUTH_FAILED", `registry ${host} sent an invalid token realm ${JSON.stringify(realm)}`);
    }
    const service = challenge.params["service"];
    const uniqueScopes = [...new Set(scopes)].sort();
    let init: Parameters<TokenFetch>[1];
    if (credential?.kind === "identityToken") {
      // OAuth2 refresh-token grant (docker config `identitytoken`).
      const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: credential.token, client_id: "basewarm" });
      if (service) form.set("service", service);
      if (uniqueScopes.length) form.set("scope", uniqueScopes.join(" "));
      init = { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form.toString() };
    } else {
      if (service) url.searchParams.set("service", service);
      for (const scope of uniqueScopes) url.searchParams.append("scope", scope);
      const headers: Record<string, string> = {};
      if (credential?.kind === "basic") {
        headers["authorization"] = basicHeader(credential.username, credential.password);
        url.searchParams.set("account", credential.username);
      }
      init = { method: "GET", headers };
    }
    const started = this.now();
    const response = await this.options.fetchToken(url, init, host);
    if (response.status === 401 || response.status === 403) {
      const who = credential?.kind === "basic" ? `user ${JSON.stringify(credential.username)}` : "anonymous access";
      throw new BasewarmError("AUTH_FAILED", `token service ${url.origin} refused ${who} for ${host} (HTTP ${response.status}); check the credentials for ${host} in the config or docker config.json`);
    }
    if (response.status !== 200) {
      throw new BasewarmError("AUTH_FAILED", `token service ${url.origin} for ${host} answered HTTP ${response.status}`, { retryable: response.status >= 500 || response.status === 429 });
    }
    if (response.truncated) {
      throw new BasewarmError("AUTH_FAILED", `token service ${url.origin} for ${host} sent a response over the size limit; it is not a token service`);
    }
    let json: unknown;
    try {
      json = JSON.parse(response.body);
    } catch {
      throw new BasewarmError("AUTH_FAILED", `token service ${url.origin} for ${host} returned invalid JSON`);
    }
    const parsed = tokenResponse.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
      throw new BasewarmError("AUTH_FAILED", `token service ${url.origin} for ${host} returned an unusable answer (${where}${issue?.message ?? "unexpected shape"})`);
    }
    const value = (parsed.data.token || parsed.data.access_token) ?? "";
    this.options.redactor?.add(value);
    // The spec's default lifetime is 60 s; renew a little early so a token never expires in flight.
    const expiresIn = parsed.data.expires_in;
    const ttlMs = (expiresIn !== undefined && expiresIn > 0 ? expiresIn : 60) * 1000;
    const margin = Math.min(10_000, ttlMs * 0.2);
    this.options.logger.debug({ host, scopes: uniqueScopes, ttlMs }, "registry token issued");
    return { value, expiresAt: started + ttlMs - margin };
  }
}
