/**
 * Who is running: the identity a run or the lock carries, and whether such a process still lives.
 * A pid only means something on its own host (and pid namespace: containers get their own hostname),
 * so a holder on another host is judged by its heartbeat alone.
 */
import { hostname } from "node:os";

export interface ProcessIdentity {
  pid: number;
  hostname: string;
}

export function currentProcess(): ProcessIdentity {
  return { pid: process.pid, hostname: hostname() };
}

/** True when the process is known to be gone: same host, not us, and signal 0 finds nothing. */
export function processGone(holder: { pid: number | null; hostname: string | null }, self: ProcessIdentity): boolean {
  if (holder.pid === null || holder.hostname !== self.hostname || holder.pid === self.pid) return false;
  if (!Number.isInteger(holder.pid) || holder.pid <= 0) return true;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (err) {
    // EPERM: it exists but belongs to another user, so it is alive.
    return (err as { code?: unknown }).code === "ESRCH";
  }
}
