/**
 * Registry error bodies (OCI distribution spec, "Error Codes"): `{"errors":[{code,message,detail}]}`.
 * We surface the codes in messages so a user sees `MANIFEST_UNKNOWN` or `DENIED`, not just "404".
 */
export interface OciError {
  code: string;
  message: string;
}

export function parseOciErrors(body: string): OciError[] {
  if (!body.trimStart().startsWith("{")) return [];
  try {
    const parsed = JSON.parse(body) as unknown;
    const errors = (parsed as { errors?: unknown }).errors;
    if (!Array.isArray(errors)) return [];
    return errors
      .filter((e): e is Record<string, unknown> => typeof e === "object" && e !== null)
      .map((e) => ({ code: String(e["code"] ?? "UNKNOWN"), message: String(e["message"] ?? "") }));
  } catch {
    return [];
  }
}

/** A peer's text in our one-line messages: no control characters (newlines, escapes), bounded. */
function oneLine(text: string, limit: number): string {
  const plain = text.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  return plain.length > limit ? `${plain.slice(0, limit)}…` : plain;
}

/**
 * `MANIFEST_UNKNOWN: manifest unknown; ...`, or the status text when the body has no OCI errors.
 * `clean` (redaction) runs on each text before it is cut, so no prefix of a secret survives a cut.
 */
export function describeOciErrors(status: number, body: string, clean: (text: string) => string = (t) => t): string {
  const errors = parseOciErrors(body);
  if (errors.length === 0) return `HTTP ${status}`;
  const shown = errors.slice(0, 3).map((e) => (e.message ? `${oneLine(clean(e.code), 40)}: ${oneLine(clean(e.message), 200)}` : oneLine(clean(e.code), 40)));
  const more = errors.length > shown.length ? `; and ${errors.length - shown.length} more` : "";
  return `${shown.join("; ")}${more} (HTTP ${status})`;
}
