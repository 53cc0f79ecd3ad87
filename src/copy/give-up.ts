/**
 * The error a blob transfer ends with once its whole-transfer retries are spent. A body that broke
 * mid-way is retried from the start by the copier, not by the request's retry (which ends with its
 * own "gave up" note): without this the user saw one reset and no sign that it was tried again.
 */
import { BasewarmError, errorMessage, isBasewarmError } from "../errors.js";

export function transferGaveUp(err: unknown, attempts: number, what: string): BasewarmError {
  const last = isBasewarmError(err) ? err : new BasewarmError("NETWORK_ERROR", `${what}: ${errorMessage(err)}`, { cause: err });
  if (attempts <= 1 || last.message.includes("(gave up after")) return last;
  return new BasewarmError(last.code, `${last.message} (gave up after ${attempts} attempts)`, { cause: last, retryable: last.retryable });
}
