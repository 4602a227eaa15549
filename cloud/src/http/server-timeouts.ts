import type { Server } from 'node:http';

/** Limits on slow clients (slowloris and slow bodies), applied to the cloud's HTTP(S) server. */
export interface ServerTimeouts {
  /** All request headers must arrive within this. */
  headersTimeoutMs: number;
  /** The whole request, body included (an 8 MiB FHIR upload on a slow ward link fits). */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** How often node looks for connections past those limits (its default is 30 s). */
  checkIntervalMs: number;
}

export const DEFAULT_SERVER_TIMEOUTS: ServerTimeouts = {
  headersTimeoutMs: 15_000,
  requestTimeoutMs: 120_000,
  keepAliveTimeoutMs: 5_000,
  checkIntervalMs: 1_000,
};

export function serverTimeouts(overrides: Partial<ServerTimeouts> = {}): ServerTimeouts {
  const timeouts = { ...DEFAULT_SERVER_TIMEOUTS, ...overrides };
  for (const [name, value] of Object.entries(timeouts))
    if (!(Number.isInteger(value) && value > 0))
      throw new Error(`${name} must be a positive whole number of milliseconds, got ${value}`);
  if (timeouts.headersTimeoutMs > timeouts.requestTimeoutMs)
    throw new Error('headersTimeoutMs cannot be longer than requestTimeoutMs');
  return timeouts;
}

/** node:http / node:https createServer options; the check interval can only be set there. */
export function timeoutServerOptions(timeouts: ServerTimeouts) {
  return {
    headersTimeout: timeouts.headersTimeoutMs,
    requestTimeout: timeouts.requestTimeoutMs,
    connectionsCheckingInterval: timeouts.checkIntervalMs,
  };
}

/** The limits set on a created server (keep-alive is a property only). */
export function applyServerTimeouts(server: Server, timeouts: ServerTimeouts): void {
  server.headersTimeout = timeouts.headersTimeoutMs;
  server.requestTimeout = timeouts.requestTimeoutMs;
  server.keepAliveTimeout = timeouts.keepAliveTimeoutMs;
}
