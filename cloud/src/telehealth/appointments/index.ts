import { Hono } from 'hono';
import type { Db } from '../../db/database.ts';
import type { TelehealthOptions } from '../options.ts';

/** /api/telehealth: providers, availability, booking, cancel, reschedule. */
export function appointmentsApp(_db: Db, _options: TelehealthOptions): Hono {
  return new Hono();
}
