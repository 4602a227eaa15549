import { createHash, randomBytes } from 'node:crypto';

/** A bearer token: 32 random bytes, base64url. Only its hash is stored. */
export function newBearerToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * How sessions, access tokens, client secrets and recovery codes are stored: SHA-256, hex. These
 * are high-entropy random values, not chosen by people, so a fast hash is enough: no guessing
 * attack on 256 bits (recovery codes: 60 bits, and only a second factor after the password).
 */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
