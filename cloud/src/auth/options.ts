import type { Context } from 'hono';
import type { AuditLog } from '../audit/audit-entry.ts';
import type { SecretBox } from './secret-box.ts';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** Renders a refused authentication (the FHIR mount answers with an OperationOutcome). */
export type AuthErrorRenderer = (
  c: Context,
  status: 401 | 403,
  code: string,
  message: string,
) => Response | Promise<Response>;

export interface SessionLimits {
  /** A session ends this long after its last request (default 15 min). */
  idleMs?: number;
  /** ... and this long after sign-in whatever happens (default 12 h). */
  absoluteMs?: number;
  /** The MFA step (or MFA enrolment) must be done this soon after the password (default 10 min). */
  mfaPendingMs?: number;
}

/** What the authenticate middleware needs. */
export interface AuthenticateOptions {
  audit: AuditLog;
  /** The clock (epoch ms); tests move it instead of sleeping. */
  now?: () => number;
  session?: SessionLimits;
  onError?: AuthErrorRenderer;
}

export interface AuthOptions extends AuthenticateOptions {
  /** Seals TOTP secrets at rest: the PHI key ring. */
  secretBox: SecretBox;
  lockout?: {
    /** Failed passwords or MFA codes within `windowMs` that lock the account (default 5). */
    maxFailures?: number;
    windowMs?: number;
    /** How long the account stays locked (default: the window, 15 min). */
    durationMs?: number;
  };
  /** HIPAA training older than this refuses a staff login (default 365 days). */
  trainingValidityMs?: number;
  /** Lifetime of a client-credentials access token (default 5 min). */
  accessTokenTtlMs?: number;
}

export interface SessionConfig {
  idleMs: number;
  absoluteMs: number;
  mfaPendingMs: number;
  /** last_seen_at is written at most this often per session (see sessions.ts). */
  touchEveryMs: number;
}

export interface AuthConfig {
  audit: AuditLog;
  secretBox: SecretBox;
  now: () => number;
  session: SessionConfig;
  lockout: { maxFailures: number; windowMs: number; durationMs: number };
  trainingValidityMs: number;
  accessTokenTtlMs: number;
  onError?: AuthErrorRenderer;
}

export function sessionConfig(limits: SessionLimits | undefined): SessionConfig {
  const config = {
    idleMs: limits?.idleMs ?? 15 * MINUTE,
    absoluteMs: limits?.absoluteMs ?? 12 * 60 * MINUTE,
    mfaPendingMs: limits?.mfaPendingMs ?? 10 * MINUTE,
  };
  for (const [name, value] of Object.entries(config))
    if (!(Number.isFinite(value) && value > 0))
      throw new Error(`session.${name} must be a positive number of milliseconds`);
  // Never coarser than a tenth of the idle limit, so a short test limit still works.
  return { ...config, touchEveryMs: Math.min(30_000, Math.floor(config.idleMs / 10)) };
}

/** The options with their defaults, checked. */
export function authConfig(options: AuthOptions): AuthConfig {
  const window = options.lockout?.windowMs ?? 15 * MINUTE;
  const config: AuthConfig = {
    audit: options.audit,
    secretBox: options.secretBox,
    now: options.now ?? Date.now,
    session: sessionConfig(options.session),
    lockout: {
      maxFailures: options.lockout?.maxFailures ?? 5,
      windowMs: window,
      durationMs: options.lockout?.durationMs ?? window,
    },
    trainingValidityMs: options.trainingValidityMs ?? 365 * DAY,
    accessTokenTtlMs: options.accessTokenTtlMs ?? 5 * MINUTE,
    onError: options.onError,
  };
  const positive = {
    'lockout.maxFailures': config.lockout.maxFailures,
    'lockout.windowMs': config.lockout.windowMs,
    'lockout.durationMs': config.lockout.durationMs,
    trainingValidityMs: config.trainingValidityMs,
    accessTokenTtlMs: config.accessTokenTtlMs,
  };
  for (const [name, value] of Object.entries(positive))
    if (!(Number.isFinite(value) && value > 0))
      throw new Error(`${name} must be a positive number`);
  if (!Number.isInteger(config.lockout.maxFailures))
    throw new Error('lockout.maxFailures must be an integer');
  return config;
}
