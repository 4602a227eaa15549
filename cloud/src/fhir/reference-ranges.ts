/**
 * Adult reference ranges of the vital signs wardgate charts, and the critical values beyond which
 * a reading is flagged LL / HH. Normal ranges: the usual adult resting values (heart and pulse
 * rate 60–100 /min, respiratory rate 12–20 /min, SpO2 ≥ 95 %, systolic 90–139 and diastolic 60–89
 * mm[Hg], mean 70–105 mm[Hg], temperature 36.1–37.2 Cel, end-tidal CO2 35–45 mm[Hg]). Critical
 * values: the single-parameter "red" thresholds of the Royal College of Physicians' NEWS2 (2017)
 * where it has one (pulse ≤ 40 or ≥ 131, respiration ≤ 8 or ≥ 25, SpO2 ≤ 91 %, systolic ≤ 90 or
 * ≥ 220, temperature ≤ 35.0), and for the others the common ward panic values.
 */
export interface ReferenceRange {
  low?: number;
  high?: number;
  /** At or beyond these the value is critical (LL / HH). */
  criticalLow?: number;
  criticalHigh?: number;
  unit: string;
}

export const ADULT_RANGES: Readonly<Record<string, ReferenceRange>> = {
  MDC_ECG_HEART_RATE: { low: 60, high: 100, criticalLow: 40, criticalHigh: 131, unit: '/min' },
  MDC_PULS_OXIM_PULS_RATE: { low: 60, high: 100, criticalLow: 40, criticalHigh: 131, unit: '/min' },
  MDC_RESP_RATE: { low: 12, high: 20, criticalLow: 8, criticalHigh: 25, unit: '/min' },
  MDC_PULS_OXIM_SAT_O2: { low: 95, high: 100, criticalLow: 91, unit: '%' },
  MDC_PRESS_BLD_NONINV_SYS: {
    low: 90,
    high: 139,
    criticalLow: 90,
    criticalHigh: 220,
    unit: 'mm[Hg]',
  },
  MDC_PRESS_BLD_NONINV_DIA: {
    low: 60,
    high: 89,
    criticalLow: 40,
    criticalHigh: 120,
    unit: 'mm[Hg]',
  },
  MDC_PRESS_BLD_NONINV_MEAN: {
    low: 70,
    high: 105,
    criticalLow: 60,
    criticalHigh: 140,
    unit: 'mm[Hg]',
  },
  MDC_TEMP_BODY: { low: 36.1, high: 37.2, criticalLow: 35, criticalHigh: 40, unit: 'Cel' },
  MDC_AWAY_CO2_ET: { low: 35, high: 45, criticalLow: 20, criticalHigh: 60, unit: 'mm[Hg]' },
};

export type Interpretation = 'LL' | 'L' | 'N' | 'H' | 'HH';

const INTERPRETATION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';
const DISPLAY: Record<Interpretation, string> = {
  LL: 'Critical low',
  L: 'Low',
  N: 'Normal',
  H: 'High',
  HH: 'Critical high',
};

/** Where `value` stands against `range`: critical, outside the normal range, or normal. */
export function interpret(value: number, range: ReferenceRange): Interpretation {
  if (range.criticalLow !== undefined && value <= range.criticalLow) return 'LL';
  if (range.criticalHigh !== undefined && value >= range.criticalHigh) return 'HH';
  if (range.low !== undefined && value < range.low) return 'L';
  if (range.high !== undefined && value > range.high) return 'H';
  return 'N';
}

const UCUM_SYSTEM = 'http://unitsofmeasure.org';

/**
 * Observation.referenceRange and .interpretation for a vital sign measured in `ucum`; nothing
 * when the parameter has no range or is in another unit.
 */
export function rangeAndInterpretation(parameter: string, value: number, ucum: string) {
  const range = ADULT_RANGES[parameter];
  if (!range || range.unit !== ucum) return {};
  const quantity = (v: number) => ({
    value: v,
    unit: range.unit,
    system: UCUM_SYSTEM,
    code: range.unit,
  });
  const code = interpret(value, range);
  return {
    referenceRange: [
      {
        ...(range.low !== undefined && { low: quantity(range.low) }),
        ...(range.high !== undefined && { high: quantity(range.high) }),
        text: 'adult normal range',
      },
    ],
    interpretation: [
      {
        coding: [{ system: INTERPRETATION_SYSTEM, code, display: DISPLAY[code] }],
        text: DISPLAY[code],
      },
    ],
  };
}
