/**
 * The long-running scheduler behind `basewarm serve`: fires warm runs on a cron schedule
 * (node-cron), never two at once in this process (the state file's lock covers other
 * processes), and on stop() takes no new work and waits for the current run to end.
 */
import { createTask, type ScheduledTask } from "node-cron";
import type { Logger } from "../log/index.js";

export interface SchedulerOptions {
  cron: string;
  timezone?: string;
  /** Random delay (0..jitterSeconds) before each scheduled run. */
  jitterSeconds?: number;
  logger: Logger;
  /** One run; receives a signal that is aborted when the scheduler stops. */
  run: (signal: AbortSignal) => Promise<void>;
  random?: () => number;
}

export class Scheduler {
  private readonly options: SchedulerOptions;
  private task: ScheduledTask | undefined;
  private current: Promise<void> | undefined;
  private readonly stopping = new AbortController();
  /** Counters for the health line and for tests. */
  readonly stats = { fired: 0, started: 0, skippedBusy: 0, failed: 0 };

  constructor(options: SchedulerOptions) {
    this.options = options;
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  start(): void {
    this.task = createTask(this.options.cron, () => this.fire(), this.options.timezone ? { timezone: this.options.timezone } : {});
    this.task.start();
    this.options.logger.info({ cron: this.options.cron }, "scheduler started");
  }

  /** Trigger a run now (used by --once and by the schedule). Resolves when that run ends. */
  fire(): Promise<void> {
    this.stats.fired++;
    if (this.stopping.signal.aborted) return Promise.resolve();
    if (this.current) {
      this.stats.skippedBusy++;
      this.options.logger.warn("previous warm run still going: skipping this slot");
      return this.current;
    }
    const run = (async () => {
      const jitter = Math.floor((this.options.random ?? Math.random)() * (this.options.jitterSeconds ?? 0) * 1000);
      if (jitter > 0) {
        this.options.logger.info({ delayMs: jitter }, "waiting the random start delay");
        const signal = this.stopping.signal;
        const aborted = await new Promise<boolean>((resolve) => {
          const onAbort = () => {
            clearTimeout(timer);
            resolve(true);
          };
          // The listener goes with the timer: a serve left running would gain one per run otherwise.
          const timer = setTimeout(() => {
            signal.removeEventListener("abort", onAbort);
            resolve(false);
          }, jitter);
          signal.addEventListener("abort", onAbort, { once: true });
        });
        if (aborted) return;
      }
      this.stats.started++;
      try {
        await this.options.run(this.stopping.signal);
      } catch (err) {
        this.stats.failed++;
        this.options.logger.error({ error: (err as Error).message }, "warm run failed");
      }
    })().finally(() => {
      this.current = undefined;
    });
    this.current = run;
    return run;
  }

  /** Stop taking new work; abort and wait for the current run. */
  async stop(): Promise<void> {
    this.stopping.abort();
    if (this.task) {
      await this.task.stop();
      await this.task.destroy();
    }
    if (this.current) await this.current;
    this.options.logger.info("scheduler stopped");
  }
}
