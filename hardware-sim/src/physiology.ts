/**
 * A simple patient model: baseline vitals with slow drift, breathing and measurement noise, and a
 * scenario that bends them over time. Deterministic for a given seed so tests can rely on it.
 * Device scenarios (pump-occlusion, vent-high-pressure, sensor-off) leave the vitals alone: the
 * device sims read `scenario` and `severity(now)` from the model and act on them.
 */
export type Scenario =
  | 'stable'
  | 'deteriorating'
  | 'desaturation'
  | 'apnea'
  | 'tachycardia'
  | 'pump-occlusion'
  | 'vent-high-pressure'
  | 'sensor-off';
export const SCENARIOS: readonly Scenario[] = [
  'stable',
  'deteriorating',
  'desaturation',
  'apnea',
  'tachycardia',
  'pump-occlusion',
  'vent-high-pressure',
  'sensor-off',
];

/** Seconds from onset to a scenario's worst; `deteriorating` uses deteriorationMinutes. */
const RAMP_SECONDS: Record<Exclude<Scenario, 'stable' | 'deteriorating'>, number> = {
  desaturation: 30,
  apnea: 10,
  tachycardia: 30,
  'pump-occlusion': 20,
  'vent-high-pressure': 15,
  'sensor-off': 0,
};

/** Where each scenario takes its parameter at its worst. */
const DESATURATED_SPO2 = 82;
const TACHYCARDIC_HR = 150;

export interface Vitals {
  heartRate: number; // /min
  spo2: number; // %
  pulseRate: number; // /min
  respRate: number; // /min
  nibpSys: number; // mm[Hg]
  nibpDia: number; // mm[Hg]
  nibpMean: number; // mm[Hg]
  temperature: number; // Cel
  etco2: number; // mm[Hg]
  perfusionIndex: number; // %
}

/** mulberry32: tiny seeded PRNG. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

export interface PatientOptions {
  seed?: number;
  scenario?: Scenario;
  /** Time the scenario starts (ms epoch); defaults to when the model is made. */
  startedAt?: number;
  /** Seconds after the scenario starts before it begins to act; default 0. */
  onsetSeconds?: number;
  /** Minutes for `deteriorating` to reach its worst. */
  deteriorationMinutes?: number;
}

export class PatientModel {
  scenario: Scenario;
  private readonly random: () => number;
  private startedAt: number;
  private readonly onsetMs: number;
  private readonly deteriorationMs: number;
  private readonly baseline: Vitals;

  constructor(options: PatientOptions = {}) {
    this.random = seededRandom(options.seed ?? 1);
    this.scenario = options.scenario ?? 'stable';
    this.startedAt = options.startedAt ?? Date.now();
    this.onsetMs = (options.onsetSeconds ?? 0) * 1000;
    if (!Number.isFinite(this.onsetMs) || this.onsetMs < 0)
      throw new Error(`onsetSeconds must be 0 or more, got ${options.onsetSeconds}`);
    this.deteriorationMs = (options.deteriorationMinutes ?? 10) * 60_000;
    const r = () => this.random() - 0.5;
    const heartRate = 72 + r() * 16;
    const nibpSys = 118 + r() * 14;
    const nibpDia = 76 + r() * 10;
    this.baseline = {
      heartRate,
      spo2: 97 + r() * 2,
      pulseRate: heartRate,
      respRate: 15 + r() * 4,
      nibpSys,
      nibpDia,
      nibpMean: (nibpSys + 2 * nibpDia) / 3,
      temperature: 36.8 + r() * 0.6,
      etco2: 38 + r() * 4,
      perfusionIndex: 3 + r() * 2,
    };
  }

  /** Switches scenario; its onset clock restarts at `at`. */
  setScenario(scenario: Scenario, at = Date.now()) {
    if (!SCENARIOS.includes(scenario)) throw new Error(`unknown scenario "${scenario}"`);
    this.scenario = scenario;
    this.startedAt = at;
  }

  /** When the scenario begins to act (ms epoch). */
  get onsetAt(): number {
    return this.startedAt + this.onsetMs;
  }

  /** Progress of the scenario from 0 (before onset) to 1 (worst). */
  severity(now = Date.now()): number {
    if (this.scenario === 'stable') return 0;
    const elapsed = now - this.onsetAt;
    if (elapsed < 0) return 0;
    const rampMs =
      this.scenario === 'deteriorating' ? this.deteriorationMs : RAMP_SECONDS[this.scenario] * 1000;
    return rampMs <= 0 ? 1 : clamp(elapsed / rampMs, 0, 1);
  }

  /** Whether `scenario` is the current one and past its onset. */
  isActive(scenario: Scenario, now = Date.now()): boolean {
    return this.scenario === scenario && now >= this.onsetAt;
  }

  vitals(now = Date.now()): Vitals {
    const severity = this.severity(now);
    const s = this.scenario === 'deteriorating' ? severity : 0;
    const noise = (amplitude: number) => (this.random() - 0.5) * 2 * amplitude;
    const b = this.baseline;
    // Deterioration: sepsis-like picture, tachycardia, tachypnoea, hypotension, desaturation, fever.
    const heartRate = b.heartRate + 55 * s + noise(1.5);
    const spo2 = b.spo2 - 14 * s + noise(0.6);
    const sys = b.nibpSys - 35 * s + noise(2);
    const dia = b.nibpDia - 22 * s + noise(1.5);
    const pulseNoise = noise(1);
    const respRate = b.respRate + 14 * s + noise(1);
    const temperature = b.temperature + 1.8 * s + noise(0.05);
    const etco2 = b.etco2 - 8 * s + noise(1);
    const perfusionIndex = b.perfusionIndex * (1 - 0.6 * s) + noise(0.2);
    const v = { heartRate, spo2, respRate, etco2 };
    this.applyScenario(v, severity);
    return {
      heartRate: Math.round(clamp(v.heartRate, 20, 250)),
      spo2: Math.round(clamp(v.spo2, 50, 100)),
      pulseRate: Math.round(clamp(v.heartRate + pulseNoise, 20, 250)),
      respRate: Math.round(clamp(v.respRate, 0, 60)),
      nibpSys: Math.round(clamp(sys, 40, 250)),
      nibpDia: Math.round(clamp(dia, 20, 150)),
      nibpMean: Math.round(clamp((sys + 2 * dia) / 3, 30, 200)),
      temperature: round(clamp(temperature, 30, 43), 1),
      etco2: Math.round(clamp(v.etco2, 0, 80)),
      perfusionIndex: round(clamp(perfusionIndex, 0.1, 20), 2),
    };
  }

  /** Bends the noisy values towards the scenario's worst, in proportion to its severity. */
  private applyScenario(
    v: { heartRate: number; spo2: number; respRate: number; etco2: number },
    s: number,
  ): void {
    if (s === 0) return;
    const toward = (value: number, target: number) => value + (target - value) * s;
    switch (this.scenario) {
      case 'desaturation':
        v.spo2 = toward(v.spo2, DESATURATED_SPO2);
        v.heartRate += 10 * s;
        break;
      case 'tachycardia':
        v.heartRate = toward(v.heartRate, TACHYCARDIC_HR);
        break;
      case 'apnea':
        // No breaths, so no exhaled CO2: both fall to zero, noise included.
        v.respRate = toward(v.respRate, 0);
        v.etco2 = toward(v.etco2, 0);
        break;
    }
  }
}
