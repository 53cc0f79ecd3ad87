import { describe, expect, it } from "vitest";
import { isBasewarmError } from "../../src/errors.js";
import { parseReference, repositoryScope } from "../../src/reference/index.js";

describe("repository token scopes", () => {
  it.each([
    ["library/alpine", "pull", "repository:library/alpine:pull"],
    ["cache/team/app", "pull,push", "repository:cache/team/app:pull,push"],
    ["a", "push", "repository:a:push"],
  ] as const)("%s with %s is %s, the same rule as Reference.scope", (repository, actions, expected) => {
    expect(repositoryScope(repository, actions)).toBe(expected);
    expect(parseReference(`127.0.0.1:5000/${repository}:t`).scope(actions)).toBe(expected);
  });

  it.each(["", "Alpine", "alpine@sha256", "a//b", "a b", "repo:pull,push repository:other"])("refuses %j, which would name another scope", (repository) => {
    let error: unknown;
    try {
      repositoryScope(repository, "pull");
    } catch (err) {
      error = err;
    }
    expect(isBasewarmError(error, "REF_INVALID")).toBe(true);
    expect((error as Error).message).toContain(JSON.stringify(repository));
  });
});
