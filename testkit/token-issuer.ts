/**
 * A minimal token issuer for the distribution registry's `auth: token` mode.
 * It signs RS256 JWTs with a key whose self-signed certificate travels in the `x5c` header
 * (and is the registry's `rootcertbundle`), and grants exactly the scopes asked for that the
 * user's grants allow — so a client asking for the wrong scope gets a real 401/403.
 */
import { execFileSync } from "node:child_process";
import { createSign, randomUUID, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { join } from "node:path";

export interface Grant {
  /** Repository name or glob with `*` (any characters). */
  repository: string;
  actions: ("pull" | "push" | "delete" | "*")[];
}

export interface TestUser {
  username: string;
  password: string;
  /** Token flavour: which actions this user may get on which repositories (glob with `*`). */
  grants?: Grant[];
}

export interface TokenRequestRecord {
  account: string | null;
  scopes: string[];
  granted: { type: string; name: string; actions: string[] }[];
  status: number;
}

export interface TokenIssuer {
  realm: string;
  service: string;
  issuer: string;
  certPath: string;
  /** Every token request seen, in order. */
  log: TokenRequestRecord[];
  /** Lifetime of tokens issued from now on; `advertised` makes `expires_in` lie (expiry tests). */
  setTtl(seconds: number, advertised?: number): void;
  stop(): Promise<void>;
}

// distribution accepts tokens up to 60 s past `exp` (its Leeway); shift `exp` back so a token
// really stops working `ttl` seconds after it was issued, which lets tests exercise expiry.
const REGISTRY_LEEWAY_SECONDS = 60;

function b64url(input: Buffer | string): string {
  return Buffer.from(input).toString("base64url");
}

function globMatch(pattern: string, value: string): boolean {
  const re = new RegExp("^" + pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*") + "$");
  return re.test(value);
}

function parseBasic(req: IncomingMessage): { user: string; pass: string } | null {
  const header = req.headers.authorization;
  if (!header?.startsWith("Basic ")) return null;
  const decoded = Buffer.from(header.slice(6), "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return null;
  return { user: decoded.slice(0, colon), pass: decoded.slice(colon + 1) };
}

export async function startTokenIssuer(opts: {
  dir: string;
  users: TestUser[];
  ttlSeconds?: number;
  /** What anonymous clients may do (Docker Hub grants anonymous pull). Default: nothing. */
  anonymous?: Grant[];
}): Promise<TokenIssuer> {
  const keyPath = join(opts.dir, "issuer-key.pem");
  const certPath = join(opts.dir, "issuer-cert.pem");
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyPath, "-out", certPath,
    "-days", "2", "-subj", "/CN=basewarm-test-issuer",
  ], { stdio: "ignore" });
  const key = readFileSync(keyPath, "utf8");
  const certDer = new X509Certificate(readFileSync(certPath)).raw.toString("base64");
  const service = "basewarm-test-registry";
  const issuerName = "basewarm-test-issuer";
  let ttl = opts.ttlSeconds ?? 300;
  let advertisedTtl: number | undefined;
  const log: TokenRequestRecord[] = [];

  const sign = (claims: Record<string, unknown>): string => {
    const header = { alg: "RS256", typ: "JWT", x5c: [certDer] };
    const body = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature = createSign("RSA-SHA256").update(body).sign(key);
    return `${body}.${b64url(signature)}`;
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const scopes = url.searchParams.getAll("scope");
    const creds = parseBasic(req);
    let grants: Grant[] = opts.anonymous ?? [];
    let account: string | null = null;
    if (creds) {
      const user = opts.users.find((u) => u.username === creds.user && u.password === creds.pass);
      if (!user) {
        log.push({ account: creds.user, scopes, granted: [], status: 401 });
        res.writeHead(401, { "content-type": "application/json" });
        res.end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "invalid username or password" }] }));
        return;
      }
      account = user.username;
      grants = user.grants ?? [];
    }
    const access: { type: string; name: string; actions: string[] }[] = [];
    for (const scope of scopes) {
      for (const item of scope.split(" ")) {
        // `repository:name:actions`; the name may contain ':' only as a host port, never here.
        const parts = item.split(":");
        if (parts.length !== 3) continue;
        const [type, name, actionList] = parts as [string, string, string];
        if (type !== "repository") continue;
        const allowed = actionList.split(",").filter((action) =>
          grants.some((g) => globMatch(g.repository, name) && (g.actions.includes("*") || g.actions.includes(action as Grant["actions"][number]))));
        access.push({ type, name, actions: allowed });
      }
    }
    const now = Math.floor(Date.now() / 1000);
    const token = sign({
      iss: issuerName,
      sub: account ?? "",
      aud: service,
      exp: now + ttl - REGISTRY_LEEWAY_SECONDS,
      nbf: now - 1,
      iat: now,
      jti: randomUUID(),
      access,
    });
    log.push({ account, scopes, granted: access, status: 200 });
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ token, access_token: token, expires_in: advertisedTtl ?? ttl, issued_at: new Date(now * 1000).toISOString() }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer: issuerName,
    certPath,
    log,
    setTtl(seconds, advertised) {
      ttl = seconds;
      advertisedTtl = advertised;
    },
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
