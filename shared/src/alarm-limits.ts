import { z } from 'zod';
import { AlarmPriority } from './records.ts';

/** Patient categories with their own default limits (IEC 60601-2-49 style presets). */
export const LimitProfileName = z.enum(['adult', 'pediatric', 'neonatal']);
export type LimitProfileName = z.infer<typeof LimitProfileName>;

/**
 * Limits for one parameter (an MDC reference id): an alarm condition exists while the value is
 * below `low` or above `high`, after it has persisted for `delaySeconds`.
 */
export const ParameterLimit = z.strictObject({
  low: z.number().finite().optional(),
  high: z.number().finite().optional(),
  /** Condition delay: the limit must be crossed this long before the alarm is raised. */
  delaySeconds: z.number().min(0).max(600).optional(),
  priority: AlarmPriority.optional(),
});
export type ParameterLimit = z.infer<typeof ParameterLimit>;

/** Per bed, sent down by the cloud (retained config) or set in the gateway config. */
export const BedAlarmSettings = z.strictObject({
  profile: LimitProfileName.optional(),
  /** Overrides per parameter; fields not given come from the profile. */
  limits: z.record(z.string().regex(/^MDC_[A-Z0-9_]+$/), ParameterLimit).optional(),
});
export type BedAlarmSettings = z.infer<typeof BedAlarmSettings>;
