import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../../db/database.ts';
import type { VisitRole } from '../appointments/visit.ts';

/** What a room token lets its holder do: join one appointment's room, as one user, in one role. */
export interface RoomClaims {
  appointmentId: string;
  userId: string;
  username: string;
  role: VisitRole;
  /** The appointment's patient, for the audit records of what happens in the room. */
  patientId: string;
  /** Milliseconds: connect before this. */
  expiresAt: number;
  /** Unique per token: a token opens one connection. */
  nonce: string;
}

/**
 * The signing key and the tokens already used, per database handle. The key lives only in this
 * process (tokens are for connecting within a couple of minutes, to this same process: the
 * signaling server runs beside the API that issued them), so a restart simply voids them.
 */
interface TokenState {
  key: Buffer;
  used: Map<string, number>;
}
const states = new WeakMap<Db, TokenState>();

function stateOf(db: Db): TokenState {
  let state = states.get(db);
  if (!state) {
    state = { key: randomBytes(32), used: new Map() };
    states.set(db, state);
  }
  return state;
}

const mac = (key: Buffer, payload: string) =>
  createHmac('sha256', key).update(payload).digest('base64url');

export function signRoomToken(db: Db, claims: Omit<RoomClaims, 'nonce'>): string {
  const payload = Buffer.from(
    JSON.stringify({ ...claims, nonce: randomBytes(12).toString('base64url') }),
  ).toString('base64url');
  return `${payload}.${mac(stateOf(db).key, payload)}`;
}

export type TokenProblem = 'malformed' | 'bad-signature' | 'expired' | 'used';

/**
 * The claims of a valid, unexpired, not yet used token (it is used up by this call), else the
 * problem with it.
 */
export function redeemRoomToken(
  db: Db,
  token: string,
  now: number,
): { claims: RoomClaims } | { problem: TokenProblem } {
  const state = stateOf(db);
  const [payload, signature, extra] = token.split('.');
  if (!payload || !signature || extra !== undefined) return { problem: 'malformed' };
  const expected = Buffer.from(mac(state.key, payload));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given))
    return { problem: 'bad-signature' };
  let claims: RoomClaims;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as RoomClaims;
  } catch {
    return { problem: 'malformed' };
  }
  if (!(claims.expiresAt > now)) return { problem: 'expired' };
  for (const [nonce, expiresAt] of state.used) if (expiresAt <= now) state.used.delete(nonce);
  if (state.used.has(claims.nonce)) return { problem: 'used' };
  state.used.set(claims.nonce, claims.expiresAt);
  return { claims };
}
