import { errorForLog } from '../crypto/log-redaction.ts';

export interface RepeatingJob<R> {
  /** Runs now (after a run in progress) and resolves with what it did. */
  runNow(): Promise<R>;
  /** Stops the schedule; resolves when a run in progress has finished. */
  stop(): Promise<void>;
  /** Set once stop() was called: a long run checks it between steps. */
  readonly stopped: boolean;
}

/**
 * Runs `run` every `everyMs`, never two at a time (runNow queues behind a run in progress). A
 * failed run is logged as `failure: <error>` and the next one tries again; `report` says what a
 * run did (nothing logged when it returns undefined).
 */
export function startRepeatingJob<R>(options: {
  everyMs: number;
  /** What runNow resolves with before any run. */
  initial: R;
  run: () => Promise<R>;
  report: (result: R) => string | undefined;
  failure: string;
  log: (message: string) => void;
}): RepeatingJob<R> {
  const { log } = options;
  let running: Promise<R> = Promise.resolve(options.initial);
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const runNow = () => {
    running = running
      .catch(() => undefined)
      .then(options.run)
      .then((result) => {
        const message = options.report(result);
        if (message !== undefined) log(message);
        return result;
      });
    return running;
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      runNow()
        .catch((error) => log(`${options.failure}, retrying next time: ${errorForLog(error)}`))
        .finally(schedule);
    }, options.everyMs);
    timer.unref();
  };
  schedule();

  return {
    runNow,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running.catch(() => undefined);
    },
    get stopped() {
      return stopped;
    },
  };
}
