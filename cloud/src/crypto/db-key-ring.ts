import type { Db } from '../db/database.ts';
import type { KeyRing } from './key-ring.ts';

const rings = new WeakMap<object, KeyRing>();

/**
 * Makes `ring` the key ring of `db` (openDatabase does this) and of every transaction opened on
 * it: store code that gets a Db, or a transaction passed as one, finds its keys with keyRingOf.
 */
export function bindKeyRing(db: Db, ring: KeyRing): void {
  rings.set(db, ring);
  const transaction = db.transaction.bind(db) as (
    run: (tx: Db) => Promise<unknown>,
    config?: unknown,
  ) => Promise<unknown>;
  // Nested transactions (savepoints) are opened on the transaction object: bound the same way.
  (db as { transaction: unknown }).transaction = (
    run: (tx: Db) => Promise<unknown>,
    config?: unknown,
  ) =>
    transaction((tx) => {
      bindKeyRing(tx, ring);
      return run(tx);
    }, config);
}

/** The key ring of a database (or of a transaction on it). */
export function keyRingOf(db: Db): KeyRing {
  const ring = rings.get(db);
  if (!ring)
    throw new Error(
      'this database has no PHI key ring: open it with openDatabase (which binds one) or bindKeyRing',
    );
  return ring;
}
