/**
 * The pharmacy network endpoint NewRx messages are posted to, and how the transmission job
 * retries. Without `url` prescriptions are signed but stay pending.
 */
export interface PharmacyOptions {
  /** Where NCPDP SCRIPT messages are POSTed (application/xml). */
  url?: string;
  /** NCPDP id of the default pharmacy (7 digits), when a signing names none. */
  ncpdpId?: string;
  /** Its business name, put in the NewRx when the prescription goes to it. */
  name?: string;
  /** The sender id in Header/From (default "wardgate"). */
  senderId?: string;
  /** Attempts before a prescription is failed (default 5). */
  maxAttempts?: number;
  /** Wait after the first failed attempt; doubled each time (default 30 s). */
  retryBaseMs?: number;
  /** Longest wait between attempts (default 15 min). */
  retryMaxMs?: number;
  /** How often the job looks for due prescriptions (default 10 s). */
  intervalMs?: number;
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
  /** How long a claimed attempt keeps others off it (default 2 min; > timeoutMs). */
  leaseMs?: number;
}

export type PharmacySettings = Required<Omit<PharmacyOptions, 'url' | 'ncpdpId' | 'name'>> &
  Pick<PharmacyOptions, 'url' | 'ncpdpId' | 'name'>;

export function pharmacySettings(options: PharmacyOptions = {}): PharmacySettings {
  return {
    url: options.url,
    ncpdpId: options.ncpdpId,
    name: options.name,
    senderId: options.senderId ?? 'wardgate',
    maxAttempts: options.maxAttempts ?? 5,
    retryBaseMs: options.retryBaseMs ?? 30_000,
    retryMaxMs: options.retryMaxMs ?? 15 * 60_000,
    intervalMs: options.intervalMs ?? 10_000,
    timeoutMs: options.timeoutMs ?? 10_000,
    leaseMs: options.leaseMs ?? 2 * 60_000,
  };
}

/** The wait before attempt `attempts + 1`: base, 2×base, 4×base … capped. */
export function retryDelay(settings: PharmacySettings, attempts: number): number {
  return Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** Math.max(0, attempts - 1));
}
