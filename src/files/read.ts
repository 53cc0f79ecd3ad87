/**
 * Reading the files a user points basewarm at (config, Dockerfiles, password files). Only regular
 * files are read, and only up to a size limit: `--config /dev/zero` or a FIFO must fail at once with
 * one clear line, not read forever. The error says which file, why, and what to do.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { BasewarmError } from "../errors.js";

export interface ReadOptions {
  /** What the file is, for messages: "config file", "Dockerfile". */
  what: string;
  maxBytes: number;
  /** What to do when the file is missing, e.g. "pass an existing file with --config". */
  hint?: string;
}

/** Why a failed open or stat happened, in words a user acts on. */
export function openProblem(path: string, err: unknown, options: Pick<ReadOptions, "what" | "hint">): BasewarmError {
  const code = (err as { code?: string }).code;
  const hint = options.hint ? `; ${options.hint}` : "";
  if (code === "ENOENT" || code === "ENOTDIR") return new BasewarmError("FILE_NOT_FOUND", `${options.what} ${path} not found${hint}`, { cause: err });
  if (code === "EACCES" || code === "EPERM") return new BasewarmError("FILE_UNREADABLE", `${options.what} ${path} cannot be read: permission denied; check its owner and mode`, { cause: err });
  if (code === "EISDIR") return new BasewarmError("FILE_UNREADABLE", `${options.what} ${path} is a directory; pass the file itself`, { cause: err });
  return new BasewarmError("FILE_UNREADABLE", `${options.what} ${path} cannot be read (${code ?? (err as Error).message})`, { cause: err });
}

export function readRegularFile(path: string, options: ReadOptions): Buffer {
  if (path.trim() === "") throw emptyPath(options);
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO for reading must not wait for a writer.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw openProblem(path, err, options);
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw new BasewarmError("FILE_UNREADABLE", `${options.what} ${path} is a directory; pass the file itself`);
    if (!stat.isFile()) throw new BasewarmError("FILE_UNREADABLE", `${options.what} ${path} is not a regular file (a device, FIFO or socket); pass a regular file`);
    if (stat.size > options.maxBytes) throw tooLarge(path, options);
    // Read at most maxBytes + 1: the file may grow between fstat and read.
    const buffer = Buffer.alloc(Math.min(stat.size, options.maxBytes) + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > options.maxBytes) throw tooLarge(path, options);
      if (length === buffer.length) throw new BasewarmError("FILE_UNREADABLE", `${options.what} ${path} changed while it was being read; try again`);
    }
    return buffer.subarray(0, length);
  } catch (err) {
    if (err instanceof BasewarmError) throw err;
    throw openProblem(path, err, options);
  } finally {
    closeSync(fd);
  }
}

/** `--config ''` (an unset variable in a script) names no file: say that, not "…/cwd is a directory". */
export function emptyPath(options: Pick<ReadOptions, "what" | "hint">): BasewarmError {
  return new BasewarmError("FILE_NOT_FOUND", `${options.what}: the path given is empty${options.hint ? `; ${options.hint}` : ""}`);
}

function tooLarge(path: string, options: ReadOptions): BasewarmError {
  return new BasewarmError("FILE_UNREADABLE", `${options.what} ${path} is larger than ${Math.round(options.maxBytes / 1024)} KiB; basewarm refuses files that large`);
}

/** A path from a config file, resolved against the config file's directory (absolute paths stay). */
export function resolvePath(dir: string, path: string): string {
  return isAbsolute(path) ? path : resolve(dir, path);
}
