/**
 * A simple patient model: baseline vitals with slow drift, breathing and measurement noise, and a
 * scenario that bends them over time. Deterministic for a given seed so tests can rely on it.
 */
export type Scenario = 'stable' | 'deteriorating';
export const SCENARIOS: readonly Scenario[] = ['stable', 'deteriorating'];

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
  /** Minutes for `deteriorating` to reach its worst. */
  deteriorationMinutes?: number;
}

export class PatientModel {
  scenario: Scenario;
  private readonly random: () => number;
  private readonly startedAt: number;
  private readonly deteriorationMs: number;
  private readonly baseline: Vitals;

  constructor(options: PatientOptions = {}) {
    this.random = seededRandom(options.seed ?? 1);
    this.scenario = options.scenario ?? 'stable';
    this.startedAt = options.startedAt ?? Date.now();
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

  setScenario(scenario: Scenario) {
    this.scenario = scenario;
  }

  /** Progress of the scenario from 0 (start) to 1 (worst). */
  private severity(now: number): number {
    if (this.scenario === 'stable') return 0;
    return clamp((now - this.startedAt) / this.deteriorationMs, 0, 1);
  }

  vitals(now = Date.now()): Vitals {
    const s = this.severity(now);
    const noise = (amplitude: number) => (this.random() - 0.5) * 2 * amplitude;
    const b = this.baseline;
    // Deterioration: sepsis-like picture, tachycardia, tachypnoea, hypotension, desaturation, fever.
    const heartRate = b.heartRate + 55 * s + noise(1.5);
    const spo2 = b.spo2 - 14 * s + noise(0.6);
    const sys = b.nibpSys - 35 * s + noise(2);
    const dia = b.nibpDia - 22 * s + noise(1.5);
    return {
      heartRate: Math.round(clamp(heartRate, 20, 250)),
      spo2: Math.round(clamp(spo2, 50, 100)),
      pulseRate: Math.round(clamp(heartRate + noise(1), 20, 250)),
      respRate: Math.round(clamp(b.respRate + 14 * s + noise(1), 4, 60)),
      nibpSys: Math.round(clamp(sys, 40, 250)),
      nibpDia: Math.round(clamp(dia, 20, 150)),
      nibpMean: Math.round(clamp((sys + 2 * dia) / 3, 30, 200)),
      temperature: round(clamp(b.temperature + 1.8 * s + noise(0.05), 30, 43), 1),
      etco2: Math.round(clamp(b.etco2 - 8 * s + noise(1), 5, 80)),
      perfusionIndex: round(clamp(b.perfusionIndex * (1 - 0.6 * s) + noise(0.2), 0.1, 20), 2),
    };
  }
}
