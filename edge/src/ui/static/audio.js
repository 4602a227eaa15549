// Alarm sounds with the Web Audio API, in the spirit of IEC 60601-1-8: a burst of pulses per
// priority, repeated, the highest sounding priority wins. Browsers only allow sound after a user
// gesture, so enable() must be called from a click.

/**
 * Pulse start offsets in ms within one burst, pulse length, pitch and repeat interval.
 * High: 10 pulses as 3+2, pause, 3+2. Medium: 3 pulses. Low: 2 pulses.
 */
export const PATTERNS = {
  high: {
    offsets: [0, 200, 400, 800, 1000, 2000, 2200, 2400, 2800, 3000],
    pulseMs: 150,
    frequency: 880,
    repeatMs: 6000,
  },
  medium: { offsets: [0, 300, 600], pulseMs: 200, frequency: 660, repeatMs: 7000 },
  low: { offsets: [0, 350], pulseMs: 220, frequency: 520, repeatMs: 16000 },
};

export class AlarmAudio {
  constructor() {
    /** @type {AudioContext | null} */
    this.context = null;
    /** @type {'high' | 'medium' | 'low' | null} */
    this.priority = null;
    this.timer = null;
    /** @type {OscillatorNode[]} */
    this.voices = [];
    this.onStateChange = () => {};
  }

  /** True once the browser lets the page make sound. */
  get enabled() {
    return this.context !== null && this.context.state === 'running';
  }

  async enable() {
    if (!this.context) {
      this.context = new AudioContext();
      this.context.addEventListener('statechange', () => this.onStateChange());
    }
    await this.context.resume();
    const wanted = this.priority;
    this.priority = null;
    this.play(wanted);
    this.onStateChange();
  }

  /** Sound the pattern of `priority` (null: silence). Restarts only when the priority changes. */
  play(priority) {
    if (priority === this.priority) return;
    this.stop();
    this.priority = priority;
    if (!priority || !this.enabled) return;
    const burst = () => {
      this.burst(PATTERNS[priority]);
      this.timer = setTimeout(burst, PATTERNS[priority].repeatMs);
    };
    burst();
  }

  stop() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const voice of this.voices) {
      try {
        voice.stop();
      } catch {
        // already stopped
      }
    }
    this.voices = [];
  }

  burst(pattern) {
    const ctx = this.context;
    if (!ctx) return;
    const start = ctx.currentTime + 0.05;
    this.voices = [];
    for (const offset of pattern.offsets) {
      const t0 = start + offset / 1000;
      const length = pattern.pulseMs / 1000;
      // Fundamental plus harmonics so the tone is easy to localise, with a soft attack and decay.
      for (const [harmonic, level] of [
        [1, 0.5],
        [2, 0.2],
        [3, 0.12],
        [4, 0.08],
      ]) {
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        osc.frequency.value = pattern.frequency * harmonic;
        gain.gain.setValueAtTime(0, t0);
        gain.gain.linearRampToValueAtTime(level * 0.4, t0 + length * 0.15);
        gain.gain.setValueAtTime(level * 0.4, t0 + length * 0.8);
        gain.gain.linearRampToValueAtTime(0, t0 + length);
        osc.connect(gain).connect(ctx.destination);
        osc.start(t0);
        osc.stop(t0 + length + 0.02);
        this.voices.push(osc);
      }
    }
  }
}

/**
 * Which priority should sound: the highest among alarms whose audio is neither acknowledged nor
 * paused at `now` (gateway time).
 * @param {{priority: string, acknowledged: unknown, silencedUntil: number | null}[]} alarms
 * @param {number} now
 */
export function soundingPriority(alarms, now) {
  let best = null;
  const rank = { high: 3, medium: 2, low: 1 };
  for (const alarm of alarms) {
    if (alarm.acknowledged) continue;
    if (alarm.silencedUntil !== null && alarm.silencedUntil > now) continue;
    if (!best || rank[alarm.priority] > rank[best]) best = alarm.priority;
  }
  return best;
}
