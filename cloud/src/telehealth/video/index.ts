import { Hono } from 'hono';
import type { Db } from '../../db/database.ts';
import type { TelehealthOptions } from '../options.ts';

/** /api/telehealth: video rooms, tokens, waiting room, consent, chat transcript. */
export function videoApp(_db: Db, _options: TelehealthOptions): Hono {
  return new Hono();
}
