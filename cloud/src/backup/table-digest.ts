import { createHash } from 'node:crypto';
import type { TextRow } from './format.ts';

/**
 * A digest of a table's rows that does not depend on their order (a restored table need not come
 * back in the order it was dumped, and tables without a primary key have no order): each row's
 * SHA-256, as eight 32-bit words, is added word by word modulo 2^32. Equal multisets of rows give
 * equal digests; a changed, missing or extra row changes it. The file itself is authenticated by
 * the AEAD: this digest proves the restore, not the file.
 */
export class TableDigest {
  rows = 0;
  private readonly sums = new Uint32Array(8);

  add(row: TextRow): void {
    const hash = createHash('sha256').update(JSON.stringify(row)).digest();
    for (let i = 0; i < 8; i++) this.sums[i] += hash.readUInt32BE(i * 4);
    this.rows++;
  }

  hex(): string {
    return Array.from(this.sums, (word) => word.toString(16).padStart(8, '0')).join('');
  }
}
