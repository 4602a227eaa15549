import { waitFor } from '@wardgate/shared/testing';
import WebSocket from 'ws';
import { base32Decode, totpCode } from '../../src/auth/totp.ts';
import type { Json } from './auth.ts';

/**
 * A session token from a running cloud, signing in the way a person does: password, and for
 * staff the MFA enrolment and its first code (by the real clock: the cloud's auth runs on it).
 */
export async function signInToCloud(
  httpUrl: string,
  username: string,
  password: string,
): Promise<string> {
  const call = async (path: string, body: unknown, token?: string) => {
    const res = await fetch(`${httpUrl}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as Json;
    if (res.status !== 200)
      throw new Error(`${path} answered ${res.status}: ${JSON.stringify(json)}`);
    return json;
  };
  const login = await call('/api/auth/login', { username, password });
  if (!login.mfaRequired) return login.token;
  const enrol = await call('/api/auth/mfa/enrol', {}, login.token);
  await call(
    '/api/auth/mfa/activate',
    { code: totpCode(base32Decode(enrol.secret), Date.now()) },
    login.token,
  );
  return login.token;
}

/** A signaling socket the way the visit page uses it: JSON messages, read in order. */
export class SignalClient {
  readonly ws: WebSocket;
  readonly received: Json[] = [];
  private consumed = new Set<number>();
  closed: { code: number; reason: string } | undefined;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => this.received.push(JSON.parse(data.toString())));
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
    });
  }

  /** Connects, or rejects with the HTTP status and body the server refused the upgrade with. */
  static open(url: string, options: { origin?: string } = {}): Promise<SignalClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, options.origin ? { origin: options.origin } : {});
      const client = new SignalClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_request, response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        response.on('end', () => {
          ws.terminate();
          reject(
            Object.assign(new Error(`refused ${response.statusCode}`), {
              status: response.statusCode,
              body: body ? JSON.parse(body) : null,
            }),
          );
        });
      });
      ws.once('error', (error) => reject(error));
    });
  }

  send(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }

  /** The next message of this type not taken yet (waiting for it). */
  async next(type: string, timeoutMs = 10_000): Promise<Json> {
    const index = await waitFor(
      () => {
        const i = this.received.findIndex((m, j) => m.type === type && !this.consumed.has(j));
        return i >= 0 ? i + 1 : undefined;
      },
      {
        timeoutMs,
        what: `a ${type} message (got ${JSON.stringify(this.received.map((m) => m.type))})`,
      },
    );
    this.consumed.add(index - 1);
    return this.received[index - 1];
  }

  /** Messages of this type received so far. */
  all(type: string): Json[] {
    return this.received.filter((m) => m.type === type);
  }

  waitClosed(timeoutMs = 10_000) {
    return waitFor(() => this.closed, { timeoutMs, what: 'the socket to close' });
  }

  close(): Promise<unknown> {
    if (this.closed) return Promise.resolve(this.closed);
    this.ws.close();
    return this.waitClosed();
  }
}
