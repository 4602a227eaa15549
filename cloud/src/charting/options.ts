import { termFor } from '@wardgate/shared';

/** How device readings are charted as Observations. */
export interface ChartingOptions {
  /** Slot length for parameters without their own (default 15 minutes, a ward's usual chart). */
  intervalSeconds: number;
  /** Slot length per parameter (MDC reference id, e.g. MDC_TEMP_BODY), overriding the default. */
  parameterIntervals: Record<string, number>;
  /**
   * How long after a slot ends it is charted: time for the readings of its last seconds to
   * arrive through the gateway and the broker. Readings later than that are not charted.
   */
  settleSeconds: number;
  /** How often the charting job runs. */
  runEverySeconds: number;
}

export const DEFAULT_CHARTING: ChartingOptions = {
  intervalSeconds: 900,
  parameterIntervals: {},
  settleSeconds: 60,
  runEverySeconds: 30,
};

const MAX_INTERVAL_SECONDS = 24 * 3600;

/**
 * Full options from partial ones, checked: an interval is a whole number of seconds from 1 to a
 * day, a parameter interval names a known parameter. Throws with what is wrong.
 */
export function chartingOptions(partial: Partial<ChartingOptions> = {}): ChartingOptions {
  const options = { ...DEFAULT_CHARTING, ...partial };
  const seconds = (value: number, what: string, min: number, max: number) => {
    if (!Number.isInteger(value) || value < min || value > max)
      throw new Error(
        `${what} must be a whole number of seconds from ${min} to ${max}, got ${value}`,
      );
  };
  seconds(options.intervalSeconds, 'the chart interval', 1, MAX_INTERVAL_SECONDS);
  seconds(options.settleSeconds, 'the chart settle time', 0, 3600);
  seconds(options.runEverySeconds, 'the charting period', 1, 3600);
  for (const [parameter, value] of Object.entries(options.parameterIntervals)) {
    if (!termFor(parameter)) throw new Error(`unknown parameter "${parameter}" in chart intervals`);
    seconds(value, `the chart interval of ${parameter}`, 1, MAX_INTERVAL_SECONDS);
  }
  return options;
}

/** `900` (the default) or `MDC_TEMP_BODY=3600` (one parameter), as given on the command line. */
export function parseChartInterval(
  text: string,
  into: Pick<ChartingOptions, 'intervalSeconds' | 'parameterIntervals'>,
): void {
  const at = text.indexOf('=');
  const number = (s: string) => (/^\d+$/.test(s) ? Number(s) : Number.NaN);
  if (at < 0) into.intervalSeconds = number(text);
  else into.parameterIntervals[text.slice(0, at)] = number(text.slice(at + 1));
}
