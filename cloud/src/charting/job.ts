import { errorForLog } from '../crypto/log-redaction.ts';
import type { Db } from '../db/database.ts';
import { type ChartRun, chartOnce } from './charting.ts';
import type { ChartingOptions } from './options.ts';

export interface ChartingJob {
  /** Runs charting now (after a run in progress) and resolves with what it did. */
  runNow(): Promise<ChartRun>;
  /** Stops the schedule; resolves when a run in progress has finished. */
  stop(): Promise<void>;
}

/**
 * Runs chartOnce every `runEverySeconds`, never two at a time. A failed run is logged and the
 * next one tries again: nothing is lost, pending slots and cursors only move on success.
 */
export function startChartingJob(
  db: Db,
  options: ChartingOptions,
  log: (message: string) => void = () => {},
): ChartingJob {
  let running: Promise<ChartRun> = Promise.resolve({ slotsFound: 0, charted: 0, alerts: 0 });
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const run = () => {
    running = running
      .catch(() => undefined)
      .then(() => chartOnce(db, options))
      .then((result) => {
        if (result.charted > 0 || result.alerts > 0)
          log(
            `charting: ${result.charted} observation(s) charted, ${result.alerts} alert(s) raised`,
          );
        return result;
      });
    return running;
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      run()
        .catch((error) => log(`charting: run failed, retrying next time: ${errorForLog(error)}`))
        .finally(schedule);
    }, options.runEverySeconds * 1000);
    timer.unref();
  };
  schedule();

  return {
    runNow: run,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running.catch(() => undefined);
    },
  };
}
