import type { Db } from '../db/database.ts';
import { startRepeatingJob } from '../jobs/repeating-job.ts';
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
  return startRepeatingJob({
    everyMs: options.runEverySeconds * 1000,
    initial: { slotsFound: 0, charted: 0, alerts: 0 },
    run: () => chartOnce(db, options),
    report: (result) =>
      result.charted > 0 || result.alerts > 0
        ? `charting: ${result.charted} observation(s) charted, ${result.alerts} alert(s) raised`
        : undefined,
    failure: 'charting: run failed',
    log,
  });
}
