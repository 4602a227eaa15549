import type { DeviceKind } from '@wardgate/shared';
import { type ModbusDeviceOptions, ModbusDeviceSim } from './modbus-device.ts';

const OCCLUSION_BIT = 0;
const NEAR_END_BIT = 2;
const COMPLETE_BIT = 3;
/** mL left to infuse below which the pump warns the infusion is near its end. */
const NEAR_END_ML = 50;
/** mm[Hg]; a downstream occlusion drives the line pressure above this. */
const OCCLUSION_PRESSURE = 300;

export interface PumpOptions extends ModbusDeviceOptions {
  /** mL/h */
  rate?: number;
  /** Volume to be infused, mL. */
  vtbi?: number;
  /** mL already infused when the simulation starts (to reach the end of an infusion quickly). */
  infused?: number;
}

/** A volumetric infusion pump running one infusion, served over Modbus TCP (sim-pump-v1). */
export class PumpSim extends ModbusDeviceSim {
  readonly kind: DeviceKind = 'pump';
  rate: number;
  vtbi: number;
  private infused: number;
  private lastTick: number | null = null;

  constructor(options: PumpOptions) {
    super('sim-pump-v1', options);
    this.rate = options.rate ?? 125;
    this.vtbi = options.vtbi ?? 1000;
    this.infused = options.infused ?? 0;
  }

  override async start(): Promise<void> {
    this.lastTick = null;
    await super.start();
  }

  protected values(now: number): Record<string, number> {
    // The pump stops itself once its occlusion alarm fires; the line stays under pressure.
    const occlusion = this.patient.scenario === 'pump-occlusion' ? this.patient.severity(now) : 0;
    const occluded = occlusion > 0 && this.occlusionPressure(occlusion) > OCCLUSION_PRESSURE;
    // Volume accumulates only while the pump runs, so a stopped simulator is a paused pump.
    if (this.lastTick !== null && !occluded) {
      const hours = (now - this.lastTick) / 3_600_000;
      this.infused = Math.min(this.vtbi, this.infused + this.rate * hours);
    }
    this.lastTick = now;
    const running = this.infused < this.vtbi && !occluded;
    // Pressure follows the pumping cycle around ~100 mm[Hg].
    let pressure = running ? 100 + 30 * Math.sin(now / 4000) + this.noise(10) : this.noise(3);
    if (occlusion > 0) pressure = this.occlusionPressure(occlusion) + this.noise(5);
    return {
      MDC_FLOW_FLUID_PUMP: running ? this.rate : 0,
      MDC_VOL_FLUID_TBI: this.vtbi,
      MDC_VOL_FLUID_DELIV: Math.floor(this.infused * 100) / 100,
      MDC_PRESS_FLUID_LINE: Math.round(pressure),
    };
  }

  /** A downstream occlusion builds the line pressure up from ~100 to ~450 mm[Hg]. */
  private occlusionPressure(severity: number): number {
    return 100 + (OCCLUSION_PRESSURE + 150 - 100) * severity;
  }

  protected alarmBits(values: Record<string, number>): number {
    let bits = 0;
    const left = values.MDC_VOL_FLUID_TBI - values.MDC_VOL_FLUID_DELIV;
    if (values.MDC_PRESS_FLUID_LINE > OCCLUSION_PRESSURE) bits |= 1 << OCCLUSION_BIT;
    if (left <= 0) bits |= 1 << COMPLETE_BIT;
    else if (left < NEAR_END_ML) bits |= 1 << NEAR_END_BIT;
    return bits;
  }
}
