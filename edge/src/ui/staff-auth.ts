import { createHash, timingSafeEqual } from 'node:crypto';

export interface StaffMember {
  badge: string;
  name: string;
  pin: string;
}

export interface LockoutPolicy {
  maxFailures: number;
  windowMs: number;
  lockMs: number;
}

export const DEFAULT_LOCKOUT: LockoutPolicy = {
  maxFailures: 5,
  windowMs: 5 * 60_000,
  lockMs: 5 * 60_000,
};

export type StaffCheck =
  | { ok: true; member: StaffMember }
  | { ok: false; reason: 'wrong'; failures: number }
  | { ok: false; reason: 'locked'; retryAfterMs: number };

/** Badges tracked at most; beyond this the oldest entries are forgotten (a flood of made-up badges). */
const MAX_TRACKED_BADGES = 1000;

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * Checks a badge + PIN pair against the staff list, in constant time over every staff member, and
 * locks a badge out after too many failures.
 */
export class StaffAuth {
  private readonly policy: LockoutPolicy;
  private readonly failures = new Map<string, { times: number[]; lockedUntil: number }>();
  /** Every refused attempt (wrong pair or locked badge), for the biomed page. */
  refused = 0;

  constructor(policy: LockoutPolicy = DEFAULT_LOCKOUT) {
    this.policy = policy;
  }

  check(staff: readonly StaffMember[], badge: string, pin: string, now = Date.now()): StaffCheck {
    const record = this.failures.get(badge);
    if (record && record.lockedUntil > now) {
      this.refused++;
      return { ok: false, reason: 'locked', retryAfterMs: record.lockedUntil - now };
    }
    const badgeDigest = digest(badge);
    const pinDigest = digest(pin);
    let match: StaffMember | null = null;
    for (const member of staff) {
      // Both comparisons always run so the time taken does not tell which part was wrong.
      const badgeOk = timingSafeEqual(badgeDigest, digest(member.badge));
      const pinOk = timingSafeEqual(pinDigest, digest(member.pin));
      if (badgeOk && pinOk) match = member;
    }
    if (match) {
      this.failures.delete(badge);
      return { ok: true, member: match };
    }
    this.refused++;
    return { ok: false, reason: 'wrong', failures: this.recordFailure(badge, now) };
  }

  private recordFailure(badge: string, now: number): number {
    const record = this.failures.get(badge) ?? { times: [], lockedUntil: 0 };
    record.times = record.times.filter((t) => t > now - this.policy.windowMs);
    record.times.push(now);
    if (record.times.length >= this.policy.maxFailures) {
      record.lockedUntil = now + this.policy.lockMs;
      record.times = [];
    }
    this.failures.delete(badge);
    this.failures.set(badge, record);
    if (this.failures.size > MAX_TRACKED_BADGES) this.forgetOldest(now);
    return record.times.length || this.policy.maxFailures;
  }

  private forgetOldest(now: number): void {
    for (const [badge, record] of this.failures) {
      if (this.failures.size <= MAX_TRACKED_BADGES) return;
      // A badge still locked out is kept: forgetting it would lift its lock.
      if (record.lockedUntil <= now) this.failures.delete(badge);
    }
    // Only locked badges left: a hard bound still applies, the oldest lock goes first.
    for (const badge of this.failures.keys()) {
      if (this.failures.size <= MAX_TRACKED_BADGES * 2) return;
      this.failures.delete(badge);
    }
  }
}
