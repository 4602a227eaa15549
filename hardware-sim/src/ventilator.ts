import type { DeviceKind } from '@wardgate/shared';
import { type ModbusDeviceOptions, ModbusDeviceSim } from './modbus-device.ts';

const HIGH_PRESSURE_BIT = 0;
const LOW_MINUTE_VOLUME_BIT = 1;
const APNEA_BIT = 2;
/** cm[H2O]; above it the ventilator raises its high airway pressure alarm. */
const HIGH_PRESSURE_LIMIT = 40;
/** L/min */
const LOW_MINUTE_VOLUME_LIMIT = 3;

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

/** A ventilator in volume control on a ventilated adult, served over Modbus TCP (sim-ventilator-v1). */
export class VentilatorSim extends ModbusDeviceSim {
  readonly kind: DeviceKind = 'ventilator';
  /** Settings a clinician would dial in; public so a scenario can change them. */
  setRate = 14;
  setFio2 = 40;
  setPeep = 5;
  setTidalVolume = 450;

  constructor(options: ModbusDeviceOptions) {
    super('sim-ventilator-v1', options);
  }

  protected values(now: number): Record<string, number> {
    const vitals = this.patient.vitals(now);
    // The patient can trigger extra breaths above the set rate, never fewer.
    const rate = round(Math.max(this.setRate, vitals.respRate + this.noise(0.4)), 1);
    const tidalVolume = Math.round(this.setTidalVolume + this.noise(15));
    // Stiffer lungs as the patient breathes faster (deterioration) push the peak pressure up.
    let peak = 22 + Math.max(0, vitals.respRate - 18) * 0.4 + this.noise(1.5);
    // A blocked tube or a patient fighting the ventilator: the peak climbs past the alarm limit.
    if (this.patient.scenario === 'vent-high-pressure')
      peak += (HIGH_PRESSURE_LIMIT + 10 - 22) * this.patient.severity(now);
    peak = round(peak, 1);
    return {
      MDC_VENT_RESP_RATE_SETTING: this.setRate,
      MDC_CONC_AWAY_O2_INSP: this.setFio2,
      MDC_VENT_RESP_RATE: rate,
      MDC_VOL_AWAY_TIDAL: tidalVolume,
      MDC_PRESS_AWAY_END_EXP_POS: round(this.setPeep + this.noise(0.2), 1),
      MDC_PRESS_AWAY_INSP_PEAK: peak,
      MDC_VOL_MINUTE_AWAY: round((rate * tidalVolume) / 1000, 2),
    };
  }

  protected alarmBits(values: Record<string, number>): number {
    let bits = 0;
    if (values.MDC_PRESS_AWAY_INSP_PEAK > HIGH_PRESSURE_LIMIT) bits |= 1 << HIGH_PRESSURE_BIT;
    if (values.MDC_VOL_MINUTE_AWAY < LOW_MINUTE_VOLUME_LIMIT) bits |= 1 << LOW_MINUTE_VOLUME_BIT;
    if (values.MDC_VENT_RESP_RATE < 4) bits |= 1 << APNEA_BIT;
    return bits;
  }
}
