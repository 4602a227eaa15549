import { Hono } from 'hono';
import type { Db } from '../../db/database.ts';
import type { TelehealthOptions } from '../options.ts';

/** /api/telehealth: the visit summary. */
export function visitSummaryApp(_db: Db, _options: TelehealthOptions): Hono {
  return new Hono();
}
