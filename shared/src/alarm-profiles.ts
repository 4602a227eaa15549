import type { LimitProfileName, ParameterLimit } from './alarm-limits.ts';
import type { AlarmPriority } from './records.ts';

/**
 * Default physiological alarm limits per patient category for the monitor and oximeter
 * parameters, and the merge of a bed's overrides onto them.
 *
 * Priorities follow IEC 60601-1-8: the life-threatening direction is high (desaturation,
 * bradycardia, a respiratory rate low enough to suggest apnea), every other crossing is medium.
 * Condition delays filter artefacts: SpO2 and respiration need a sustained crossing, heart rate a
 * short one, and NIBP is an episodic measurement that already stands for itself (no delay).
 */

/** One parameter's limits with every field resolved. A missing bound means no alarm that way. */
export interface EffectiveLimit {
  low?: number;
  high?: number;
  delaySeconds: number;
  /** Priority of the alarm raised below `low`, and above `high`. */
  lowPriority: AlarmPriority;
  highPriority: AlarmPriority;
}

/** Effective limits of one bed, keyed by MDC reference id. */
export type EffectiveLimits = Record<string, EffectiveLimit>;

type Bounds = readonly [low: number | undefined, high: number | undefined];

/** Delay and per-direction priority: the same for every patient category. */
const BEHAVIOUR: Record<string, Omit<EffectiveLimit, 'low' | 'high'>> = {
  MDC_ECG_HEART_RATE: { delaySeconds: 5, lowPriority: 'high', highPriority: 'medium' },
  MDC_PULS_OXIM_SAT_O2: { delaySeconds: 10, lowPriority: 'high', highPriority: 'medium' },
  MDC_PULS_OXIM_PULS_RATE: { delaySeconds: 5, lowPriority: 'high', highPriority: 'medium' },
  MDC_RESP_RATE: { delaySeconds: 10, lowPriority: 'high', highPriority: 'medium' },
  MDC_PRESS_BLD_NONINV_SYS: { delaySeconds: 0, lowPriority: 'medium', highPriority: 'medium' },
  MDC_PRESS_BLD_NONINV_DIA: { delaySeconds: 0, lowPriority: 'medium', highPriority: 'medium' },
  MDC_PRESS_BLD_NONINV_MEAN: { delaySeconds: 0, lowPriority: 'medium', highPriority: 'medium' },
  MDC_TEMP_BODY: { delaySeconds: 10, lowPriority: 'medium', highPriority: 'medium' },
  MDC_AWAY_CO2_ET: { delaySeconds: 10, lowPriority: 'medium', highPriority: 'medium' },
};

/** Used for an override of a parameter the profiles do not cover. */
const OTHER_BEHAVIOUR: Omit<EffectiveLimit, 'low' | 'high'> = {
  delaySeconds: 0,
  lowPriority: 'medium',
  highPriority: 'medium',
};

/**
 * Bounds per category. SpO2 has no adult/pediatric high limit; the neonatal one (95 %) guards
 * against hyperoxia (retinopathy of prematurity).
 */
const BOUNDS: Record<LimitProfileName, Record<string, Bounds>> = {
  adult: {
    MDC_ECG_HEART_RATE: [50, 120],
    MDC_PULS_OXIM_SAT_O2: [90, undefined],
    MDC_PULS_OXIM_PULS_RATE: [50, 120],
    MDC_RESP_RATE: [8, 30],
    MDC_PRESS_BLD_NONINV_SYS: [90, 160],
    MDC_PRESS_BLD_NONINV_DIA: [50, 90],
    MDC_PRESS_BLD_NONINV_MEAN: [60, 110],
    MDC_TEMP_BODY: [35.5, 38.5],
    MDC_AWAY_CO2_ET: [25, 50],
  },
  pediatric: {
    MDC_ECG_HEART_RATE: [70, 150],
    MDC_PULS_OXIM_SAT_O2: [90, undefined],
    MDC_PULS_OXIM_PULS_RATE: [70, 150],
    MDC_RESP_RATE: [12, 40],
    MDC_PRESS_BLD_NONINV_SYS: [75, 130],
    MDC_PRESS_BLD_NONINV_DIA: [40, 85],
    MDC_PRESS_BLD_NONINV_MEAN: [50, 100],
    MDC_TEMP_BODY: [35.5, 38.5],
    MDC_AWAY_CO2_ET: [25, 50],
  },
  neonatal: {
    MDC_ECG_HEART_RATE: [100, 180],
    MDC_PULS_OXIM_SAT_O2: [88, 95],
    MDC_PULS_OXIM_PULS_RATE: [100, 180],
    MDC_RESP_RATE: [25, 70],
    MDC_PRESS_BLD_NONINV_SYS: [45, 90],
    MDC_PRESS_BLD_NONINV_DIA: [25, 60],
    MDC_PRESS_BLD_NONINV_MEAN: [30, 65],
    MDC_TEMP_BODY: [36, 38],
    MDC_AWAY_CO2_ET: [30, 50],
  },
};

/** The default limits of a patient category (a fresh copy). */
export function profileLimits(profile: LimitProfileName): EffectiveLimits {
  const bounds = BOUNDS[profile];
  if (!bounds) throw new Error(`unknown alarm limit profile "${profile}"`);
  const out: EffectiveLimits = {};
  for (const [parameter, [low, high]] of Object.entries(bounds))
    out[parameter] = withBounds({ ...BEHAVIOUR[parameter] }, low, high);
  return out;
}

/**
 * A profile's limits with a bed's overrides applied field by field (a field an override leaves
 * out keeps the profile's value). An override's `priority` applies to both directions.
 * Throws when a resulting low limit is not below its high limit.
 */
export function effectiveLimits(
  profile: LimitProfileName,
  overrides: Record<string, ParameterLimit> | undefined = undefined,
): EffectiveLimits {
  const limits = profileLimits(profile);
  for (const [parameter, override] of Object.entries(overrides ?? {})) {
    const base = limits[parameter] ?? { ...OTHER_BEHAVIOUR };
    const merged = withBounds(
      {
        delaySeconds: override.delaySeconds ?? base.delaySeconds,
        lowPriority: override.priority ?? base.lowPriority,
        highPriority: override.priority ?? base.highPriority,
      },
      override.low ?? base.low,
      override.high ?? base.high,
    );
    if (merged.low !== undefined && merged.high !== undefined && merged.low >= merged.high)
      throw new Error(
        `alarm limits for ${parameter}: low ${merged.low} must be below high ${merged.high}`,
      );
    limits[parameter] = merged;
  }
  return limits;
}

function withBounds(
  limit: EffectiveLimit,
  low: number | undefined,
  high: number | undefined,
): EffectiveLimit {
  if (low !== undefined) limit.low = low;
  if (high !== undefined) limit.high = high;
  return limit;
}
