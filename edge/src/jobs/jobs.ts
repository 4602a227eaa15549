import cron, { type ScheduledTask } from 'node-cron';

export interface JobDefinition {
  name: string;
  /** node-cron expression (5 fields, or 6 with seconds first). */
  schedule: string;
  run: () => void | Promise<void>;
}

export interface ScheduledJobs {
  /** How often each job ran and how often it failed, for /health and the biomed page. */
  stats(): Record<
    string,
    { runs: number; failures: number; lastError: string | null; lastRunAt: number | null }
  >;
  stop(): Promise<void>;
}

/**
 * Runs each job on its cron schedule. A job never overlaps itself (a run still going when the
 * next is due is skipped), and a failing job is logged and counted, never fatal.
 */
export function scheduleJobs(
  jobs: JobDefinition[],
  log: (level: 'info' | 'warn' | 'error', message: string) => void,
): ScheduledJobs {
  const stats: ReturnType<ScheduledJobs['stats']> = {};
  const tasks: ScheduledTask[] = jobs.map((job) => {
    if (!cron.validate(job.schedule))
      throw new Error(`job ${job.name}: invalid cron expression "${job.schedule}"`);
    const entry = {
      runs: 0,
      failures: 0,
      lastError: null as string | null,
      lastRunAt: null as number | null,
    };
    stats[job.name] = entry;
    return cron.schedule(
      job.schedule,
      async () => {
        entry.runs++;
        entry.lastRunAt = Date.now();
        try {
          await job.run();
        } catch (error) {
          entry.failures++;
          entry.lastError = (error as Error).message;
          log('error', `job ${job.name} failed: ${entry.lastError}`);
        }
      },
      { name: job.name, noOverlap: true },
    );
  });
  return {
    stats: () => structuredClone(stats),
    async stop() {
      await Promise.all(tasks.map((t) => t.destroy()));
    },
  };
}
