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

/** `MANIFEST_UNKNOWN: manifest unknown; ...`, or the status text when the body has no OCI errors. */
export function describeOciErrors(status: number, body: string): string {
  const errors = parseOciErrors(body);
  if (errors.length === 0) return `HTTP ${status}`;
  return `${errors.map((e) => (e.message ? `${e.code}: ${e.message}` : e.code)).join("; ")} (HTTP ${status})`;
}
