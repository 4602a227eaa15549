/**
 * Every parameter the four device kinds produce, with its IEEE 11073-10101 (MDC) term, LOINC code,
 * display text and UCUM unit. Drivers emit `parameter` as the MDC reference id; the cloud codes
 * Observations from this table. Sources are listed in shared/TERMINOLOGY.md.
 */
export type DeviceKind = 'monitor' | 'ventilator' | 'pump' | 'oximeter';
export const DEVICE_KINDS: readonly DeviceKind[] = ['monitor', 'ventilator', 'pump', 'oximeter'];

export interface ParameterTerm {
  /** MDC reference id, e.g. MDC_ECG_HEART_RATE. The key used everywhere in wardgate. */
  mdc: string;
  /**
   * MDC context-free numeric code (partition × 2^16 + term code). Partition 2 (SCADA) for
   * measurements, partition 258 for the ventilator `_SETTING` variants.
   */
  mdcCode: number;
  /**
   * LOINC code and its display. Absent where no LOINC term exists for the parameter (the infusion
   * pump rows): the cloud then codes that Observation with the MDC code only.
   */
  loinc?: string;
  loincDisplay?: string;
  /** Short display for screens. */
  display: string;
  /** UCUM unit code (FHIR valueQuantity.code) and its MDC unit term (HL7 OBX-6). */
  ucum: string;
  mdcUnit: string;
  mdcUnitCode: number;
  /** Whether the value is a device setting rather than a measurement. */
  setting?: boolean;
  /** FHIR vital-signs profile category applies. */
  vitalSign?: boolean;
  kinds: DeviceKind[];
}

const U = {
  perMin: { ucum: '/min', mdcUnit: 'MDC_DIM_BEAT_PER_MIN', mdcUnitCode: 264864 },
  respPerMin: { ucum: '/min', mdcUnit: 'MDC_DIM_RESP_PER_MIN', mdcUnitCode: 264928 },
  percent: { ucum: '%', mdcUnit: 'MDC_DIM_PERCENT', mdcUnitCode: 262688 },
  mmHg: { ucum: 'mm[Hg]', mdcUnit: 'MDC_DIM_MMHG', mdcUnitCode: 266016 },
  cmH2O: { ucum: 'cm[H2O]', mdcUnit: 'MDC_DIM_CM_H2O', mdcUnitCode: 266048 },
  degC: { ucum: 'Cel', mdcUnit: 'MDC_DIM_DEGC', mdcUnitCode: 268192 },
  mL: { ucum: 'mL', mdcUnit: 'MDC_DIM_MILLI_L', mdcUnitCode: 263762 },
  lPerMin: { ucum: 'L/min', mdcUnit: 'MDC_DIM_X_L_PER_MIN', mdcUnitCode: 265216 },
  mLPerH: { ucum: 'mL/h', mdcUnit: 'MDC_DIM_MILLI_L_PER_HR', mdcUnitCode: 265266 },
} as const;

export const PARAMETERS: readonly ParameterTerm[] = [
  // patient monitor
  {
    mdc: 'MDC_ECG_HEART_RATE',
    mdcCode: 147842,
    loinc: '8867-4',
    loincDisplay: 'Heart rate',
    display: 'HR',
    ...U.perMin,
    vitalSign: true,
    kinds: ['monitor'],
  },
  {
    mdc: 'MDC_PULS_OXIM_SAT_O2',
    mdcCode: 150456,
    loinc: '59408-5',
    loincDisplay: 'Oxygen saturation in Arterial blood by Pulse oximetry',
    display: 'SpO2',
    ...U.percent,
    vitalSign: true,
    kinds: ['monitor', 'oximeter'],
  },
  {
    mdc: 'MDC_PULS_OXIM_PULS_RATE',
    mdcCode: 149530,
    loinc: '8889-8',
    loincDisplay: 'Heart rate by Pulse oximetry',
    display: 'PR',
    ...U.perMin,
    vitalSign: true,
    kinds: ['monitor', 'oximeter'],
  },
  {
    mdc: 'MDC_RESP_RATE',
    mdcCode: 151562,
    loinc: '9279-1',
    loincDisplay: 'Respiratory rate',
    display: 'RR',
    ...U.respPerMin,
    vitalSign: true,
    kinds: ['monitor'],
  },
  {
    mdc: 'MDC_PRESS_BLD_NONINV_SYS',
    mdcCode: 150021,
    loinc: '8480-6',
    loincDisplay: 'Systolic blood pressure',
    display: 'NIBP sys',
    ...U.mmHg,
    vitalSign: true,
    kinds: ['monitor'],
  },
  {
    mdc: 'MDC_PRESS_BLD_NONINV_DIA',
    mdcCode: 150022,
    loinc: '8462-4',
    loincDisplay: 'Diastolic blood pressure',
    display: 'NIBP dia',
    ...U.mmHg,
    vitalSign: true,
    kinds: ['monitor'],
  },
  {
    mdc: 'MDC_PRESS_BLD_NONINV_MEAN',
    mdcCode: 150023,
    loinc: '8478-0',
    loincDisplay: 'Mean blood pressure',
    display: 'NIBP mean',
    ...U.mmHg,
    vitalSign: true,
    kinds: ['monitor'],
  },
  {
    mdc: 'MDC_TEMP_BODY',
    mdcCode: 150364,
    loinc: '8310-5',
    loincDisplay: 'Body temperature',
    display: 'Temp',
    ...U.degC,
    vitalSign: true,
    kinds: ['monitor'],
  },
  {
    mdc: 'MDC_AWAY_CO2_ET',
    mdcCode: 151708,
    loinc: '19891-1',
    loincDisplay: 'Carbon dioxide [Partial pressure] in Exhaled gas --at end expiration',
    display: 'etCO2',
    ...U.mmHg,
    kinds: ['monitor'],
  },
  // ventilator
  {
    mdc: 'MDC_VENT_RESP_RATE_SETTING',
    // Settings partition 258 with the term code of MDC_VENT_RESP_RATE (20514); derived, see
    // TERMINOLOGY.md.
    mdcCode: 16928802,
    loinc: '19834-1',
    loincDisplay: 'Breath rate setting Ventilator',
    display: 'RR set',
    ...U.respPerMin,
    setting: true,
    kinds: ['ventilator'],
  },
  {
    mdc: 'MDC_VENT_RESP_RATE',
    mdcCode: 151586,
    loinc: '33438-3',
    loincDisplay: 'Breath rate mechanical --on ventilator',
    display: 'RR vent',
    ...U.respPerMin,
    kinds: ['ventilator'],
  },
  {
    mdc: 'MDC_VOL_AWAY_TIDAL',
    mdcCode: 151868,
    loinc: '76222-9',
    loincDisplay: 'Tidal volume Ventilator --on ventilator',
    display: 'Vt',
    ...U.mL,
    kinds: ['ventilator'],
  },
  {
    mdc: 'MDC_PRESS_AWAY_END_EXP_POS',
    mdcCode: 151804,
    loinc: '76248-4',
    loincDisplay: 'PEEP Respiratory system --on ventilator',
    display: 'PEEP',
    ...U.cmH2O,
    kinds: ['ventilator'],
  },
  {
    mdc: 'MDC_PRESS_AWAY_INSP_PEAK',
    mdcCode: 151817,
    loinc: '76531-3',
    loincDisplay: 'Pressure.max Respiratory system airway --on ventilator',
    display: 'Ppeak',
    ...U.cmH2O,
    kinds: ['ventilator'],
  },
  {
    mdc: 'MDC_CONC_AWAY_O2_INSP',
    mdcCode: 152196,
    loinc: '3150-0',
    loincDisplay: 'Inhaled oxygen concentration',
    display: 'FiO2',
    ...U.percent,
    kinds: ['ventilator'],
  },
  {
    mdc: 'MDC_VOL_MINUTE_AWAY',
    mdcCode: 151880,
    loinc: '76009-0',
    loincDisplay: 'Inspired minute Volume during Mechanical ventilation',
    display: 'MV',
    ...U.lPerMin,
    kinds: ['ventilator'],
  },
  // infusion pump
  {
    mdc: 'MDC_FLOW_FLUID_PUMP',
    mdcCode: 157784,
    display: 'Rate',
    ...U.mLPerH,
    kinds: ['pump'],
  },
  {
    mdc: 'MDC_VOL_FLUID_TBI',
    mdcCode: 157884,
    display: 'VTBI',
    ...U.mL,
    setting: true,
    kinds: ['pump'],
  },
  {
    mdc: 'MDC_VOL_FLUID_DELIV',
    mdcCode: 157864,
    display: 'Vol inf',
    ...U.mL,
    kinds: ['pump'],
  },
  {
    mdc: 'MDC_PRESS_FLUID_LINE',
    // No standard 11073 term for infusion line pressure was found; the code is in the
    // manufacturer-private range of partition 2 (2::0xF000). See TERMINOLOGY.md.
    mdcCode: 192512,
    display: 'Line P',
    ...U.mmHg,
    kinds: ['pump'],
  },
  // pulse oximeter (SpO2 and pulse rate above)
  {
    mdc: 'MDC_PULS_OXIM_PERF_REL',
    mdcCode: 150448,
    loinc: '61006-3',
    loincDisplay: 'Perfusion index Tissue by Pulse oximetry',
    display: 'PI',
    ...U.percent,
    kinds: ['oximeter'],
  },
];

const byMdc = new Map(PARAMETERS.map((p) => [p.mdc, p]));
const byMdcCode = new Map(PARAMETERS.map((p) => [p.mdcCode, p]));

export function termFor(mdc: string): ParameterTerm | undefined {
  return byMdc.get(mdc);
}
export function termForCode(mdcCode: number): ParameterTerm | undefined {
  return byMdcCode.get(mdcCode);
}
export function parametersOf(kind: DeviceKind): ParameterTerm[] {
  return PARAMETERS.filter((p) => p.kinds.includes(kind));
}
