import { Hono } from 'hono';
import type { Db } from '../../db/database.ts';
import type { TelehealthOptions } from '../options.ts';

/** /api/telehealth: prescription checks, signing, e-prescribing status. */
export function prescriptionsApp(_db: Db, _options: TelehealthOptions): Hono {
  return new Hono();
}
