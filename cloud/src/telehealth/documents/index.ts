import { Hono } from 'hono';
import type { Db } from '../../db/database.ts';
import type { TelehealthOptions } from '../options.ts';

/** /api/telehealth: documents shared in a visit. */
export function documentsApp(_db: Db, _options: TelehealthOptions): Hono {
  return new Hono();
}
