/**
 * Redaction of secrets from text that came from outside (registry error bodies, credential
 * helpers' stderr) before it becomes an error message, a log line or a state row. Two layers:
 * the exact secrets this process knows (passwords, tokens, their encoded forms), and patterns
 * that look like credentials whatever their value (an echoed `Authorization` header, a JWT).
 */
export const REDACTED = "[REDACTED]";

const PATTERNS: readonly [RegExp, string][] = [
  // An echoed Authorization header or challenge answer: keep the scheme, drop the credential.
  // A challenge (`Bearer realm="…"`) names parameters, not a credential: left alone.
  [/\b(Basic|Bearer)(\s+)(?!(?:realm|service|scope|error|charset)\s*=)[A-Za-z0-9._~+/-]+=*/gi, `$1$2${REDACTED}`],
  // JWTs (bearer tokens of most token services) wherever they appear.
  [/\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?/g, REDACTED],
  // `password=…`, `"secret": "…"`, `token: …`.
  [/\b(pass(?:word|wd)?|secret|token|access_token|refresh_token|identitytoken|registrytoken|auth|authorization|api[_-]?key|credentials?)(["']?\s*[:=]\s*["']?)(?!\[REDACTED\]|(?:Basic|Bearer)\s)[^\s"',;&}]+/gi, `$1$2${REDACTED}`],
];

/** Runs of letters and digits mixed, as secrets and API keys are; for text that should hold none. */
const OPAQUE = /[A-Za-z0-9+/=_.~-]{12,}/g;
/** `password hunter2`, `token abc`: in text that should hold no secret, the word after such a key goes too. */
const KEY_THEN_WORD = /\b(pass(?:word|wd)?|secret|token)(\s+)(?!\[REDACTED\])[^\s"',;]+/gi;

/** Redact what looks like a credential, without knowing any secret. */
export function redactPatterns(text: string): string {
  let out = text;
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/**
 * Stricter, for text that should never carry anything opaque (a credential helper's stderr):
 * also every long token mixing letters and digits.
 */
export function redactOpaque(text: string): string {
  return redactPatterns(text).replace(KEY_THEN_WORD, `$1$2${REDACTED}`).replace(OPAQUE, (word) => (/[A-Za-z]/.test(word) && /[0-9]/.test(word) ? REDACTED : word));
}

/** Secrets shorter than this are not searched for: they would blank out ordinary words. */
const MIN_SECRET_LENGTH = 4;

/** The secrets one process holds, and every form in which a peer could echo them back. */
export class SecretRedactor {
  private readonly secrets = new Set<string>();
  private ordered: string[] = [];

  /** Remember a secret (a password, a token, an Authorization header value). */
  add(secret: string | undefined): void {
    if (secret === undefined || secret.length < MIN_SECRET_LENGTH) return;
    const forms = [secret, Buffer.from(secret).toString("base64"), encodeURIComponent(secret)];
    let changed = false;
    for (const form of forms) {
      if (form.length >= MIN_SECRET_LENGTH && !this.secrets.has(form)) {
        this.secrets.add(form);
        changed = true;
      }
    }
    // Longest first, so a secret that contains another is replaced whole.
    if (changed) this.ordered = [...this.secrets].sort((a, b) => b.length - a.length);
  }

  /** A Basic credential: the password, and `user:password` as sent in the header. */
  addBasic(username: string, password: string): void {
    this.add(password);
    this.add(`${username}:${password}`);
  }

  redact(text: string): string {
    let out = text;
    for (const secret of this.ordered) out = out.split(secret).join(REDACTED);
    return redactPatterns(out);
  }
}
