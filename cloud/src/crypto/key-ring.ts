import { createHmac, randomBytes } from 'node:crypto';
import sodium from 'libsodium-wrappers';

/** One data key of the ring: 32 bytes for XChaCha20-Poly1305, and when it was made. */
export interface DataKey {
  version: number;
  key: Uint8Array;
  createdAt: number;
}

/** What a key source hands the ring: every data key it still holds, the current one, the index key. */
export interface KeyMaterial {
  /** The version new values are sealed with. */
  current: number;
  keys: DataKey[];
  /** The HMAC key of the blind indexes (never rotated with the data keys: the indexes would change). */
  indexKey: Uint8Array;
}

/**
 * Where the keys come from. The file source (key-file.ts) is the one wardgate ships; a KMS adapter
 * would implement the same two members (see the README, "PHI encrypted at rest").
 */
export interface KeySource {
  /** Reads the keys (again: a rotation elsewhere shows up on the next load). */
  load(): Promise<KeyMaterial>;
  /** Where the keys are, for logs and errors (a path or a KMS key name; never key bytes). */
  readonly describe: string;
}

/** A sealed value names its format and key version: `wg1.<version>.<base64url(nonce ‖ ciphertext)>`. */
const SEALED = /^wg1\.(\d{1,9})\.([A-Za-z0-9_-]+)$/;
export const SEALED_PREFIX = 'wg1.';
const NONCE_BYTES = 24;
const TAG_BYTES = 16;
export const KEY_BYTES = 32;

/** A value that did not open: wrong key, another row's or column's value, or altered. */
export class SealedValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealedValueError';
  }
}

/** A value sealed with a key version the ring does not hold (yet: see KeyRing.reload). */
export class UnknownKeyVersionError extends SealedValueError {
  readonly version: number;
  constructor(version: number, where: string) {
    super(`no key version ${version} in the key ring (${where})`);
    this.name = 'UnknownKeyVersionError';
    this.version = version;
  }
}

/** Whether `value` has the sealed format (it may still fail to open). */
export function isSealed(value: unknown): value is string {
  return typeof value === 'string' && SEALED.test(value);
}

/** The key version a sealed value names, or undefined when it is not a sealed value. */
export function sealedVersion(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = SEALED.exec(value);
  return m ? Number(m[1]) : undefined;
}

/**
 * The PHI key ring: seals values with XChaCha20-Poly1305 (IETF) under the current data key, opens
 * them under whichever version sealed them, and computes blind indexes with the index key. The
 * associated data names where a value is stored (table, column, row): a sealed value copied to
 * another row or column does not open. It is also the SecretBox the identity code takes.
 */
export class KeyRing {
  private material: KeyMaterial;
  private keys: Map<number, Uint8Array>;
  private readonly source: KeySource;
  private reloading: Promise<boolean> | undefined;

  private constructor(source: KeySource, material: KeyMaterial) {
    this.source = source;
    this.material = material;
    this.keys = checkMaterial(material, source.describe);
  }

  /** The ring of a source's keys (libsodium is ready once this resolves). */
  static async load(source: KeySource): Promise<KeyRing> {
    await sodium.ready;
    return new KeyRing(source, await source.load());
  }

  get currentVersion(): number {
    return this.material.current;
  }

  /** The versions the ring holds, ascending. */
  get versions(): number[] {
    return [...this.keys.keys()].sort((a, b) => a - b);
  }

  get describe(): string {
    return this.source.describe;
  }

  /** `plaintext` sealed under the current key, bound to `associatedData`. */
  seal(plaintext: string, associatedData: string): string {
    const version = this.material.current;
    const key = this.keys.get(version) as Uint8Array;
    const nonce = randomBytes(NONCE_BYTES);
    const ciphertext = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
      Buffer.from(plaintext, 'utf8'),
      adBytes(version, associatedData),
      null,
      nonce,
      key,
    );
    const body = Buffer.concat([nonce, ciphertext]).toString('base64url');
    return `${SEALED_PREFIX}${version}.${body}`;
  }

  /** The plaintext of a value sealed for `associatedData`; SealedValueError when it does not open. */
  open(sealed: string, associatedData: string): string {
    const m = SEALED.exec(sealed);
    if (!m) throw new SealedValueError(`not a sealed value (${associatedData})`);
    const version = Number(m[1]);
    const key = this.keys.get(version);
    if (!key) throw new UnknownKeyVersionError(version, associatedData);
    const body = Buffer.from(m[2], 'base64url');
    if (body.length < NONCE_BYTES + TAG_BYTES)
      throw new SealedValueError(`sealed value too short (${associatedData})`);
    try {
      const plaintext = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
        null,
        body.subarray(NONCE_BYTES),
        adBytes(version, associatedData),
        body.subarray(0, NONCE_BYTES),
        key,
      );
      return Buffer.from(plaintext).toString('utf8');
    } catch {
      throw new SealedValueError(
        `sealed value does not open: another row's or column's, altered, or a different key (${associatedData})`,
      );
    }
  }

  /**
   * A blind index: HMAC-SHA256 under the index key of `value` (already normalized by the caller)
   * in the domain `field` (e.g. `Patient.identifier`), so equal values of one field match and
   * nothing else can be learned without the key. 128 bits, base64url (22 characters).
   */
  blindIndex(field: string, value: string): string {
    return createHmac('sha256', this.material.indexKey)
      .update(field)
      .update('\u0000')
      .update(value)
      .digest()
      .subarray(0, 16)
      .toString('base64url');
  }

  /**
   * Reads the source again (a rotation made by `keys rotate` or another replica); true when the
   * current version or the set of versions changed. Concurrent calls share one load.
   */
  reload(): Promise<boolean> {
    this.reloading ??= (async () => {
      try {
        const material = await this.source.load();
        const keys = checkMaterial(material, this.source.describe);
        if (!Buffer.from(material.indexKey).equals(Buffer.from(this.material.indexKey)))
          throw new Error(
            `${this.source.describe}: the index key changed; blind indexes would no longer match`,
          );
        const changed =
          material.current !== this.material.current ||
          [...keys.keys()].sort().join() !== [...this.keys.keys()].sort().join();
        this.material = material;
        this.keys = keys;
        return changed;
      } finally {
        this.reloading = undefined;
      }
    })();
    return this.reloading;
  }
}

function adBytes(version: number, associatedData: string): Buffer {
  // The version is bound too, so a value cannot be relabelled as sealed by another version.
  return Buffer.from(`${SEALED_PREFIX}${version}|${associatedData}`, 'utf8');
}

function checkMaterial(material: KeyMaterial, where: string): Map<number, Uint8Array> {
  const keys = new Map<number, Uint8Array>();
  for (const k of material.keys) {
    if (!Number.isSafeInteger(k.version) || k.version < 1)
      throw new Error(`${where}: key version ${k.version} is not a whole number ≥ 1`);
    if (k.key.length !== KEY_BYTES)
      throw new Error(`${where}: key version ${k.version} is not ${KEY_BYTES} bytes`);
    if (keys.has(k.version)) throw new Error(`${where}: key version ${k.version} appears twice`);
    keys.set(k.version, k.key);
  }
  if (!keys.has(material.current))
    throw new Error(`${where}: the current version ${material.current} has no key`);
  if (material.indexKey.length !== KEY_BYTES)
    throw new Error(`${where}: the index key is not ${KEY_BYTES} bytes`);
  return keys;
}

/** Fresh key material: version 1 and an index key, from the system CSPRNG. */
export function newKeyMaterial(now = Date.now()): KeyMaterial {
  return {
    current: 1,
    keys: [{ version: 1, key: randomBytes(KEY_BYTES), createdAt: now }],
    indexKey: randomBytes(KEY_BYTES),
  };
}

/** `material` with one more version, made current. */
export function withNewVersion(material: KeyMaterial, now = Date.now()): KeyMaterial {
  const version = Math.max(0, ...material.keys.map((k) => k.version)) + 1;
  return {
    current: version,
    keys: [...material.keys, { version, key: randomBytes(KEY_BYTES), createdAt: now }],
    indexKey: material.indexKey,
  };
}

/** Keys held in memory only: for tests and in-memory databases, gone with the process. */
export class MemoryKeySource implements KeySource {
  readonly describe = 'in-memory keys (lost when the process ends)';
  private material: KeyMaterial;

  constructor(material: KeyMaterial = newKeyMaterial()) {
    this.material = material;
  }

  async load(): Promise<KeyMaterial> {
    return this.material;
  }

  /** Adds a version and makes it current (a ring sees it after reload()). */
  rotate(): number {
    this.material = withNewVersion(this.material);
    return this.material.current;
  }
}

/** A ring of fresh in-memory keys. */
export function ephemeralKeyRing(): Promise<KeyRing> {
  return KeyRing.load(new MemoryKeySource());
}
