import type { Context, Env, MiddlewareHandler } from 'hono';
import { errorBody } from './json-body.ts';

/** At most `max` requests per `windowMs` for one key, refilled continuously. */
export interface RateLimitRule {
  windowMs: number;
  max: number;
}

export interface TakeResult {
  allowed: boolean;
  /** Requests left right now (whole). */
  remaining: number;
  /** When refused: how long until the next request would be allowed. */
  retryAfterMs: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Keys tracked at once by default; the least recently seen are dropped beyond it. */
export const DEFAULT_MAX_KEYS = 10_000;

/**
 * Token buckets in memory, one per key: each holds up to `max` tokens, refilled at `max` per
 * `windowMs`, and a request takes one. Bounded: beyond `maxKeys` the least recently used bucket
 * goes (Map keeps insertion order; a use re-inserts), which at worst forgives that key's debt.
 */
export class TokenBuckets {
  readonly rule: RateLimitRule;
  private readonly maxKeys: number;
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  constructor(rule: RateLimitRule, maxKeys = DEFAULT_MAX_KEYS) {
    if (!(Number.isInteger(rule.max) && rule.max >= 1))
      throw new Error(`rate limit max must be a whole number of requests ≥ 1, got ${rule.max}`);
    if (!(Number.isFinite(rule.windowMs) && rule.windowMs > 0))
      throw new Error(`rate limit windowMs must be a positive number, got ${rule.windowMs}`);
    if (!(Number.isInteger(maxKeys) && maxKeys >= 1))
      throw new Error(`rate limit maxKeys must be a whole number ≥ 1, got ${maxKeys}`);
    this.rule = { windowMs: rule.windowMs, max: rule.max };
    this.maxKeys = maxKeys;
    this.perMs = rule.max / rule.windowMs;
  }

  get size(): number {
    return this.buckets.size;
  }

  take(key: string, now: number): TakeResult {
    const { max } = this.rule;
    const bucket = this.buckets.get(key);
    let tokens = max;
    if (bucket) {
      this.buckets.delete(key);
      // A clock that stepped back refills nothing rather than draining.
      tokens = Math.min(max, bucket.tokens + Math.max(0, now - bucket.at) * this.perMs);
    }
    const allowed = tokens >= 1;
    if (allowed) tokens -= 1;
    this.buckets.set(key, { tokens, at: now });
    if (this.buckets.size > this.maxKeys) {
      const oldest = this.buckets.keys().next().value as string;
      this.buckets.delete(oldest);
    }
    return {
      allowed,
      remaining: Math.floor(tokens),
      retryAfterMs: allowed ? 0 : Math.ceil((1 - tokens) / this.perMs),
    };
  }

  clear(): void {
    this.buckets.clear();
  }
}

/** Renders the refusal; `retryAfterSeconds` is also sent as Retry-After. */
export type LimitedRenderer = (
  c: Context,
  retryAfterSeconds: number,
) => Response | Promise<Response>;

/** The /api refusal: 429 `{error: {code: "rate_limited", message}}`. */
export const rateLimitedJson: LimitedRenderer = (c, retryAfterSeconds) =>
  c.json(errorBody('rate_limited', `Too many requests: try again in ${retryAfterSeconds} s`), 429);

export interface RateLimitOptions<E extends Env = Env> extends RateLimitRule {
  /** Whose budget a request spends; null or undefined leaves the request unlimited here. */
  key(c: Context<E>): string | null | undefined | Promise<string | null | undefined>;
  /** Milliseconds clock (tests inject one). */
  now?: () => number;
  maxKeys?: number;
  /** Defaults to rateLimitedJson; FHIR routes pass an OperationOutcome renderer. */
  onLimited?: LimitedRenderer;
}

export type RateLimitMiddleware<E extends Env = Env> = MiddlewareHandler<E> & {
  buckets: TokenBuckets;
};

/** Whole seconds for Retry-After, at least 1 (RFC 9110 10.2.3 allows only whole seconds). */
export const retryAfterSeconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/** The refusal `render` makes, with Retry-After in whole seconds. */
export async function limitedResponse(
  c: Context,
  retryAfterMs: number,
  render: LimitedRenderer = rateLimitedJson,
): Promise<Response> {
  const seconds = retryAfterSeconds(retryAfterMs);
  const response = await render(c, seconds);
  response.headers.set('Retry-After', String(seconds));
  return response;
}

/**
 * Middleware allowing `max` requests per `windowMs` for each `key(c)`; beyond it 429 with
 * Retry-After. In memory, so per process: behind several replicas each counts on its own.
 */
export function rateLimit<E extends Env = Env>(
  options: RateLimitOptions<E>,
): RateLimitMiddleware<E> {
  const buckets = new TokenBuckets(options, options.maxKeys);
  const now = options.now ?? Date.now;
  const middleware: MiddlewareHandler<E> = async (c, next) => {
    const key = await options.key(c);
    if (key === null || key === undefined) return next();
    const taken = buckets.take(key, now());
    if (taken.allowed) return next();
    return limitedResponse(c as unknown as Context, taken.retryAfterMs, options.onLimited);
  };
  return Object.assign(middleware, { buckets });
}
