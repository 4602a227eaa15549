import { Hono } from 'hono';
import type { Db } from '../db/database.ts';
import { apiErrors } from '../http/json-body.ts';
import { appointmentsApp } from './appointments/index.ts';
import { documentsApp } from './documents/index.ts';
import type { TelehealthOptions } from './options.ts';
import { prescriptionsApp } from './prescriptions/index.ts';
import { visitSummaryApp } from './summary/index.ts';
import { videoApp } from './video/index.ts';

export type { TelehealthOptions } from './options.ts';

/** Everything under /api/telehealth (behind authentication, authorization and audit). */
export function telehealthApp(db: Db, options: TelehealthOptions = {}): Hono {
  const app = new Hono();
  app.route('/', appointmentsApp(db, options));
  app.route('/', videoApp(db, options));
  app.route('/', prescriptionsApp(db, options));
  app.route('/', documentsApp(db, options));
  app.route('/', visitSummaryApp(db, options));
  app.onError(apiErrors);
  return app;
}
