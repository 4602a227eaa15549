import { createServer } from 'node:net';
import {
  type DeviceKind,
  type DeviceProfile,
  encodeRegister,
  loadProfile,
  type RegisterTable,
} from '@wardgate/shared';
import { ServerTCP } from 'modbus-serial';
import type { SimDevice } from './device.ts';
import {
  checkSupported,
  type DeviceFault,
  FaultGate,
  type FaultKind,
  type FaultyDevice,
  LINK_FAULTS,
  linkPart,
} from './faults.ts';
import { type PatientModel, seededRandom } from './physiology.ts';

export interface ModbusDeviceOptions {
  id: string;
  bedId: string;
  patient: PatientModel;
  host?: string;
  /** 0 lets the OS choose; address() reports the real port after start(). */
  port?: number;
  unitId?: number;
  /** How often the registers are refreshed from the patient model. */
  refreshMs?: number;
}

const ILLEGAL_FUNCTION = 0x01;
const ILLEGAL_DATA_ADDRESS = 0x02;

/** An error modbus-serial's server turns into a Modbus exception response. */
function modbusException(code: number, message: string): Error {
  return Object.assign(new Error(message), { modbusErrorCode: code });
}

/**
 * modbus-serial's ServerTCP treats port 0 as "use 502" and does not expose the bound port, so a
 * free port is found first by binding a throwaway server to port 0. Another process could take it
 * in between; start() retries on EADDRINUSE.
 */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ port: 0, host }, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

function seedOf(text: string): number {
  let h = 2166136261;
  for (const c of text) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return h >>> 0;
}

/**
 * A simulated Modbus TCP device: serves the holding and input registers its profile maps, from a
 * word table refreshed from the patient model. Reads touching an unmapped address get exception 2,
 * as a real device answers; writes get exception 1 (the simulated devices are read-only).
 * The Modbus server listens on a private port behind a FaultGate on the device's address, so the
 * link can be made to fail (see setFault).
 */
export abstract class ModbusDeviceSim implements SimDevice, FaultyDevice {
  readonly id: string;
  readonly bedId: string;
  abstract readonly kind: DeviceKind;
  readonly profile: DeviceProfile;
  readonly host: string;
  readonly unitId: number;
  protected readonly patient: PatientModel;
  protected readonly random: () => number;
  readonly supportedFaults: readonly FaultKind[] = [...LINK_FAULTS, 'modbus-exception'];
  private serverPort = 0;
  private readonly gate: FaultGate;
  private readonly refreshMs: number;
  private readonly words: Record<RegisterTable, Map<number, number>> = {
    holding: new Map(),
    input: new Map(),
  };
  private readonly forced = new Map<number, boolean>();
  private server: ServerTCP | null = null;
  private currentFault: DeviceFault | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** The last error refreshing the registers (a value the profile cannot carry), if any. */
  lastError: string | null = null;

  protected constructor(profileName: string, options: ModbusDeviceOptions) {
    this.id = options.id;
    this.bedId = options.bedId;
    this.patient = options.patient;
    this.profile = loadProfile(profileName);
    this.host = options.host ?? '127.0.0.1';
    this.gate = new FaultGate(this.host, options.port ?? 0, () => ({
      host: '127.0.0.1',
      port: this.serverPort,
    }));
    this.unitId = options.unitId ?? 1;
    this.refreshMs = options.refreshMs ?? 200;
    this.random = seededRandom(seedOf(this.id));
  }

  /** Parameter (MDC ref id) → value in the profile's unit, for this instant. */
  protected abstract values(now: number): Record<string, number>;
  /** Alarm bits the device raises by itself from those values. */
  protected abstract alarmBits(values: Record<string, number>, now: number): number;

  /** Symmetric noise in ±amplitude. */
  protected noise(amplitude: number): number {
    return (this.random() - 0.5) * 2 * amplitude;
  }

  /**
   * Forces an alarm bit (by bit number or condition code) on or off regardless of the model;
   * `null` hands it back to the model. Takes effect at once.
   */
  forceAlarm(bitOrCondition: number | string, on: boolean | null): void {
    const def = this.profile.alarms?.bits.find((b) =>
      typeof bitOrCondition === 'number'
        ? b.bit === bitOrCondition
        : b.condition === bitOrCondition,
    );
    if (!def)
      throw new Error(`${this.id}: profile ${this.profile.id} has no alarm ${bitOrCondition}`);
    if (on === null) this.forced.delete(def.bit);
    else this.forced.set(def.bit, on);
    this.refresh();
  }

  get fault(): DeviceFault | null {
    return this.currentFault;
  }

  /** Makes the device misbehave (see DeviceFault) until called with null. */
  setFault(fault: DeviceFault | null): void {
    checkSupported(this, fault);
    this.currentFault = fault;
    this.gate.setFault(linkPart(fault));
  }

  async start(): Promise<void> {
    if (this.server) return;
    this.refresh();
    if (this.lastError) throw new Error(this.lastError);
    for (let attempt = 0; ; attempt++) {
      this.serverPort = await freePort('127.0.0.1');
      try {
        this.server = await this.listen();
        break;
      } catch (error) {
        const inUse = (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
        if (!inUse || attempt >= 3) throw error;
      }
    }
    try {
      await this.gate.start();
    } catch (error) {
      await this.stop();
      throw error;
    }
    this.timer = setInterval(() => this.refresh(), this.refreshMs);
  }

  private listen(): Promise<ServerTCP> {
    const vector = {
      getHoldingRegister: (addr: number) => this.word('holding', addr),
      getInputRegister: (addr: number) => this.word('input', addr),
      getMultipleHoldingRegisters: (addr: number, length: number) =>
        this.range('holding', addr, length),
      getMultipleInputRegisters: (addr: number, length: number) =>
        this.range('input', addr, length),
      setRegister: () => {
        throw modbusException(ILLEGAL_FUNCTION, 'read-only device');
      },
      setRegisterArray: () => {
        throw modbusException(ILLEGAL_FUNCTION, 'read-only device');
      },
    };
    return new Promise((resolve, reject) => {
      const server = new ServerTCP(vector, {
        host: '127.0.0.1',
        port: this.serverPort,
        unitID: this.unitId,
      });
      // A client resetting its connection is routine, not a simulator failure.
      server.on('socketError', () => {});
      server.once('initialized', () => resolve(server));
      server.once('serverError', (error: Error) => server.close(() => reject(error)));
    });
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.gate.stop();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  address(): Record<string, string | number> {
    const { host, port } = this.gate.address;
    return { host, port, unitId: this.unitId, profile: this.profile.id };
  }

  private word(table: RegisterTable, address: number): number {
    const fault = this.currentFault;
    if (fault?.kind === 'modbus-exception')
      throw modbusException(fault.code, `simulated exception ${fault.code}`);
    const value = this.words[table].get(address);
    if (value === undefined) {
      throw modbusException(ILLEGAL_DATA_ADDRESS, `no ${table} register ${address}`);
    }
    return value;
  }

  private range(table: RegisterTable, address: number, length: number): number[] {
    return Array.from({ length }, (_, i) => this.word(table, address + i));
  }

  private refresh(): void {
    const now = Date.now();
    try {
      const values = this.values(now);
      const order = this.profile.wordOrder;
      const next: [RegisterTable, number, number][] = [];
      for (const reg of this.profile.registers) {
        const value = values[reg.parameter];
        if (value === undefined) throw new Error(`no value for ${reg.parameter}`);
        encodeRegister(reg, value, order).forEach((w, i) => {
          next.push([reg.table, reg.address + i, w]);
        });
      }
      const alarms = this.profile.alarms;
      if (alarms) {
        let bits = this.alarmBits(values, now);
        for (const [bit, on] of this.forced) bits = on ? bits | (1 << bit) : bits & ~(1 << bit);
        next.push([alarms.table, alarms.address, bits & 0xffff]);
      }
      for (const [table, address, w] of next) this.words[table].set(address, w);
      this.lastError = null;
    } catch (error) {
      // Keep serving the previous words rather than half an update.
      this.lastError = `${this.id}: ${(error as Error).message}`;
    }
  }
}
