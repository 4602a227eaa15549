import type { SimDevice } from './device.ts';
import { PatientMonitorSim } from './monitor.ts';
import { OximeterSim } from './oximeter.ts';
import { PatientModel, type Scenario } from './physiology.ts';
import { PumpSim } from './pump.ts';
import { VentilatorSim } from './ventilator.ts';

export interface WardOptions {
  beds: number;
  /** The gateway's HL7/MLLP listener every monitor pushes to; or give it to startMonitors(). */
  gateway?: GatewayAddress;
  /** Host the Modbus and serial-server devices listen on. */
  host?: string;
  /** First port for the listening devices (3 per bed); 0 lets the OS choose each. */
  basePort?: number;
  /** Scenario per bed id; beds not listed are `stable`. */
  scenarios?: Record<string, Scenario>;
  /** Seconds after start (or after setScenario) before a scenario begins to act; default 0. */
  onsetSeconds?: number;
  monitorIntervalMs?: number;
  oximeterIntervalMs?: number;
  /** Also expose each oximeter on a pty (needs socat). */
  pty?: boolean;
  seed?: number;
}

export interface GatewayAddress {
  host: string;
  port: number;
}

export interface SimBed {
  bedId: string;
  patient: PatientModel;
  /** Ventilator, pump and oximeter: they listen and the gateway connects to them. */
  listeners: SimDevice[];
  /** The patient monitor pushes to the gateway; made when the gateway's address is known. */
  monitor: PatientMonitorSim | null;
}

export const bedIdOf = (index: number) => `bed-${index + 1}`;

/** N beds, each with a patient monitor, a ventilator, an infusion pump and a pulse oximeter. */
export class Ward {
  readonly beds: SimBed[];
  private readonly options: WardOptions;

  constructor(options: WardOptions) {
    this.options = options;
    const host = options.host ?? '127.0.0.1';
    const portFor = (bed: number, slot: number) =>
      options.basePort ? options.basePort + bed * 3 + slot : 0;
    this.beds = Array.from({ length: options.beds }, (_, i) => {
      const bedId = bedIdOf(i);
      const patient = new PatientModel({
        seed: (options.seed ?? 1) * 1000 + i,
        scenario: options.scenarios?.[bedId] ?? 'stable',
        onsetSeconds: options.onsetSeconds,
      });
      const listeners: SimDevice[] = [
        new VentilatorSim({ id: `${bedId}-vent`, bedId, patient, host, port: portFor(i, 0) }),
        new PumpSim({ id: `${bedId}-pump`, bedId, patient, host, port: portFor(i, 1) }),
        new OximeterSim({
          id: `${bedId}-oxi`,
          bedId,
          patient,
          host,
          port: portFor(i, 2),
          intervalMs: options.oximeterIntervalMs,
          pty: options.pty,
        }),
      ];
      return { bedId, patient, listeners, monitor: null };
    });
  }

  get devices(): SimDevice[] {
    return this.beds.flatMap((b) => (b.monitor ? [b.monitor, ...b.listeners] : b.listeners));
  }

  /** Switches a bed's scenario at run time; its onset clock starts again now. */
  setScenario(bedId: string, scenario: Scenario): void {
    const bed = this.beds.find((b) => b.bedId === bedId);
    if (!bed) throw new Error(`no bed "${bedId}" in this ward (${this.beds.length} beds)`);
    bed.patient.setScenario(scenario);
  }

  /** Starts every device: the listeners first, then the monitors if the gateway is known. */
  async start(): Promise<void> {
    await this.startListeners();
    if (this.options.gateway) await this.startMonitors(this.options.gateway);
  }

  async startListeners(): Promise<void> {
    for (const bed of this.beds) for (const device of bed.listeners) await device.start();
  }

  /** Monitors connect to the gateway and keep retrying with backoff until it answers. */
  async startMonitors(gateway: GatewayAddress): Promise<void> {
    for (const bed of this.beds) {
      bed.monitor ??= new PatientMonitorSim({
        id: `${bed.bedId}-monitor`,
        bedId: bed.bedId,
        patient: bed.patient,
        gateway,
        intervalMs: this.options.monitorIntervalMs,
      });
      await bed.monitor.start();
    }
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.devices.map((d) => d.stop()));
  }

  /** The `devices:` section of a wardgate-edge config that polls this ward. */
  edgeDevices(options: { pollIntervalMs?: number; silentAfterSeconds?: number } = {}) {
    const pollIntervalMs = options.pollIntervalMs ?? 1000;
    const silentAfterSeconds = options.silentAfterSeconds ?? 10;
    const monitors = this.beds.map((b) => ({
      id: `${b.bedId}-monitor`,
      kind: 'monitor' as const,
      bed: b.bedId,
      driver: 'hl7-mllp' as const,
      silentAfterSeconds,
    }));
    const listeners = this.beds
      .flatMap((b) => b.listeners)
      .map((d) => {
        const a = d.address();
        switch (d.kind) {
          case 'ventilator':
          case 'pump':
            return {
              id: d.id,
              kind: d.kind,
              bed: d.bedId,
              driver: 'modbus-tcp' as const,
              host: String(a.host),
              port: Number(a.port),
              unitId: Number(a.unitId),
              profile: String(a.profile),
              pollIntervalMs,
              silentAfterSeconds,
            };
          case 'oximeter':
            return {
              id: d.id,
              kind: d.kind,
              bed: d.bedId,
              driver: 'serial-tcp' as const,
              host: String(a.host),
              port: Number(a.port),
              silentAfterSeconds,
            };
          default:
            throw new Error(`${d.id}: a ${d.kind} does not listen`);
        }
      });
    return [...monitors, ...listeners];
  }
}
