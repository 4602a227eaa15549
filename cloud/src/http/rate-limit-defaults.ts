import type { Context, MiddlewareHandler } from 'hono';
import type { AuthEnv } from '../auth/hono-env.ts';
import type { Principal } from '../auth/principal.ts';
import { requestSource } from '../auth/request-source.ts';
import { fhirJson, operationOutcome } from '../fhir/operation-outcome.ts';
import {
  type LimitedRenderer,
  limitedResponse,
  type RateLimitRule,
  rateLimit,
  rateLimitedJson,
  TokenBuckets,
} from './rate-limit.ts';

export interface LoginRateLimits {
  /** Attempts from one address: a whole ward behind one NAT logs in at shift change. */
  perIp: RateLimitRule;
  /** Attempts at one account (username or OAuth client id), whatever the address. */
  perAccount: RateLimitRule;
}

export interface RateLimitSettings {
  login: LoginRateLimits;
  /** Requests per principal once authenticated (per address before). */
  api: RateLimitRule;
  /** Keys each limiter tracks at once (least recently seen dropped beyond it). */
  maxKeys: number;
}

export const DEFAULT_RATE_LIMITS: RateLimitSettings = {
  login: {
    perIp: { windowMs: 60_000, max: 30 },
    perAccount: { windowMs: 60_000, max: 10 },
  },
  api: { windowMs: 60_000, max: 600 },
  maxKeys: 10_000,
};

/** Partial settings over the defaults (a partial rule keeps the default's other field). */
export interface RateLimitOverrides {
  login?: { perIp?: Partial<RateLimitRule>; perAccount?: Partial<RateLimitRule> };
  api?: Partial<RateLimitRule>;
  maxKeys?: number;
}

export function rateLimitSettings(overrides: RateLimitOverrides = {}): RateLimitSettings {
  const d = DEFAULT_RATE_LIMITS;
  return {
    login: {
      perIp: { ...d.login.perIp, ...overrides.login?.perIp },
      perAccount: { ...d.login.perAccount, ...overrides.login?.perAccount },
    },
    api: { ...d.api, ...overrides.api },
    maxKeys: overrides.maxKeys ?? d.maxKeys,
  };
}

/** The FHIR refusal: 429 OperationOutcome `throttled`. */
export const rateLimitedOutcome: LimitedRenderer = (c, seconds) =>
  fhirJson(c, operationOutcome('throttled', `Too many requests: try again in ${seconds} s`), 429);

/** One limiter for both APIs: an OperationOutcome under /fhir, the JSON error elsewhere. */
export const rateLimitedForPath: LimitedRenderer = (c, seconds) =>
  /^\/fhir(\/|$)/.test(c.req.path) ? rateLimitedOutcome(c, seconds) : rateLimitedJson(c, seconds);

/** The peer address as a limiter key; requests without a socket (app.request) share one. */
export function addressKey(c: Context): string {
  return `ip:${requestSource(c).ip ?? 'unknown'}`;
}

const MAX_ACCOUNT_KEY = 256;

/**
 * The account a login or token request is for, without consuming the body the route reads: JSON
 * or form `username`, form `client_id`, or the user of HTTP Basic (OAuth client authentication).
 */
export async function accountKey(c: Context): Promise<string | null> {
  let account: unknown;
  const authorization = c.req.header('authorization');
  if (authorization?.toLowerCase().startsWith('basic ')) {
    const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    account = colon < 0 ? decoded : decoded.slice(0, colon);
  }
  if (!account && c.req.raw.body) {
    const type = c.req.header('content-type') ?? '';
    const text = await c.req.raw.clone().text();
    if (/json/i.test(type)) {
      try {
        const json = JSON.parse(text) as Record<string, unknown>;
        account = json?.username ?? json?.client_id;
      } catch {
        account = undefined;
      }
    } else if (/x-www-form-urlencoded/i.test(type)) {
      const form = new URLSearchParams(text);
      account = form.get('username') ?? form.get('client_id');
    }
  }
  if (typeof account !== 'string' || account.trim() === '') return null;
  return `account:${account.trim().toLowerCase().slice(0, MAX_ACCOUNT_KEY)}`;
}

export interface LoginRateLimitOptions {
  limits?: LoginRateLimits;
  maxKeys?: number;
  now?: () => number;
  onLimited?: LimitedRenderer;
}

export type LoginRateLimitMiddleware = MiddlewareHandler & {
  perIp: TokenBuckets;
  perAccount: TokenBuckets;
};

/**
 * For /api/auth/login and /api/auth/token: every attempt spends from its address's budget and,
 * when the request names an account, from that account's. Either exhausted → 429. Counting
 * attempts (not only failures) also slows password spraying across many accounts from one address.
 */
export function loginRateLimit(options: LoginRateLimitOptions = {}): LoginRateLimitMiddleware {
  const limits = options.limits ?? DEFAULT_RATE_LIMITS.login;
  const maxKeys = options.maxKeys ?? DEFAULT_RATE_LIMITS.maxKeys;
  const perIp = new TokenBuckets(limits.perIp, maxKeys);
  const perAccount = new TokenBuckets(limits.perAccount, maxKeys);
  const now = options.now ?? Date.now;
  const middleware: MiddlewareHandler = async (c, next) => {
    const at = now();
    let taken = perIp.take(addressKey(c), at);
    if (taken.allowed) {
      const account = await accountKey(c);
      if (account) taken = perAccount.take(account, at);
    }
    if (taken.allowed) return next();
    return limitedResponse(c, taken.retryAfterMs, options.onLimited);
  };
  return Object.assign(middleware, { perIp, perAccount });
}

/** The principal's budget (`user:<id>`, `client:<id>`), else the address's. */
export function principalKey(c: Context<AuthEnv>): string {
  const principal = c.get('principal') as Principal | undefined;
  return principal ? `${principal.kind}:${principal.id}` : addressKey(c);
}

/**
 * For every /api and /fhir request, after authentication (so it counts per principal). Pass
 * `onLimited: rateLimitedOutcome` for the FHIR app, or `rateLimitedForPath` to put one limiter
 * (one budget) in front of both.
 */
export function apiRateLimit(
  options: {
    rule?: RateLimitRule;
    maxKeys?: number;
    now?: () => number;
    onLimited?: LimitedRenderer;
  } = {},
) {
  return rateLimit<AuthEnv>({
    ...(options.rule ?? DEFAULT_RATE_LIMITS.api),
    key: principalKey,
    maxKeys: options.maxKeys ?? DEFAULT_RATE_LIMITS.maxKeys,
    now: options.now,
    onLimited: options.onLimited,
  });
}
