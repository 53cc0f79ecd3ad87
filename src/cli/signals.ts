/**
 * SIGTERM/SIGINT for long commands: the first asks the work to stop (no new work, transfers and
 * builds aborted, the run recorded as abandoned); a second one exits at once. Exiting runs the
 * process's `exit` hooks, which remove temporary credential files.
 */
export function onStopSignals(stop: () => void, forceExit: (signal: NodeJS.Signals) => void = (signal) => process.exit(signal === "SIGINT" ? 130 : 143)): () => void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      forceExit(signal);
      return;
    }
    stopping = true;
    stop();
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
  return () => {
    process.off("SIGTERM", handler);
    process.off("SIGINT", handler);
  };
}
