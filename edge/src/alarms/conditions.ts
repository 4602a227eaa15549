import type { AlarmPriority, EffectiveLimit } from '@wardgate/shared';
import { termFor } from '@wardgate/shared';

/**
 * Condition codes of the limit alarms the gateway derives from readings, IHE PCD ACM style: the
 * event says which way the limit was crossed, the alarm's `parameter` says which measurement.
 * (The gateway's technical codes, WG_*, live with the checks that raise them.)
 */
export const LIMIT_CONDITION = {
  low: 'MDC_EVT_LO',
  high: 'MDC_EVT_HI',
} as const;
export type LimitCondition = (typeof LIMIT_CONDITION)[keyof typeof LIMIT_CONDITION];
export const LIMIT_CONDITIONS: readonly LimitCondition[] = [
  LIMIT_CONDITION.low,
  LIMIT_CONDITION.high,
];

/** A value outside its limits: which way, the limit crossed and the alarm's priority. */
export interface Crossing {
  condition: LimitCondition;
  limit: number;
  priority: AlarmPriority;
}

/** The crossing `value` makes, or null when it is within [low, high] (the limits included). */
export function crossingOf(value: number, limits: EffectiveLimit): Crossing | null {
  if (limits.low !== undefined && value < limits.low)
    return { condition: LIMIT_CONDITION.low, limit: limits.low, priority: limits.lowPriority };
  if (limits.high !== undefined && value > limits.high)
    return { condition: LIMIT_CONDITION.high, limit: limits.high, priority: limits.highPriority };
  return null;
}

/** UCUM codes as a screen shows them. */
const UNIT_DISPLAY: Record<string, string> = { 'mm[Hg]': 'mmHg', Cel: '°C', 'cm[H2O]': 'cmH2O' };

/** e.g. "SpO2 86 % < 90 %", "HR 134 /min > 120 /min". */
export function limitMessage(
  parameter: string,
  unit: string,
  value: number,
  crossing: Crossing,
): string {
  const name = termFor(parameter)?.display ?? parameter;
  const shownUnit = UNIT_DISPLAY[unit] ?? unit;
  const sign = crossing.condition === LIMIT_CONDITION.low ? '<' : '>';
  return `${name} ${round(value)} ${shownUnit} ${sign} ${round(crossing.limit)} ${shownUnit}`;
}

function round(value: number): string {
  return String(Math.round(value * 10) / 10);
}
