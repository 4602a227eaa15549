import sodium from 'libsodium-wrappers';
import { canonicalJson } from './canonical-json.ts';

/** libsodium loads a WASM module; call once before signing or verifying. */
export async function initCrypto(): Promise<void> {
  await sodium.ready;
}

function ensureReady() {
  // sodium.ready resolved means the functions exist; before that they are undefined.
  if (typeof sodium.crypto_sign_detached !== 'function') {
    throw new Error('libsodium is not ready: await initCrypto() first');
  }
}

const B64 = () => sodium.base64_variants.ORIGINAL;

export interface SigningKeyPair {
  /** Ed25519 public key, base64 (32 bytes). */
  publicKey: string;
  /** Ed25519 secret key, base64 (64 bytes). Never leaves the gateway. */
  secretKey: string;
}

export function generateSigningKeyPair(): SigningKeyPair {
  ensureReady();
  const kp = sodium.crypto_sign_keypair();
  return {
    publicKey: sodium.to_base64(kp.publicKey, B64()),
    secretKey: sodium.to_base64(kp.privateKey, B64()),
  };
}

/** Detached Ed25519 signature over the canonical JSON of `payload`, base64. */
export function signCanonical(payload: unknown, secretKeyB64: string): string {
  ensureReady();
  const sk = sodium.from_base64(secretKeyB64, B64());
  const sig = sodium.crypto_sign_detached(sodium.from_string(canonicalJson(payload)), sk);
  return sodium.to_base64(sig, B64());
}

export function verifyCanonical(payload: unknown, sigB64: string, publicKeyB64: string): boolean {
  ensureReady();
  let sig: Uint8Array;
  let pk: Uint8Array;
  try {
    sig = sodium.from_base64(sigB64, B64());
    pk = sodium.from_base64(publicKeyB64, B64());
  } catch {
    return false;
  }
  if (sig.length !== sodium.crypto_sign_BYTES || pk.length !== sodium.crypto_sign_PUBLICKEYBYTES)
    return false;
  return sodium.crypto_sign_verify_detached(sig, sodium.from_string(canonicalJson(payload)), pk);
}
