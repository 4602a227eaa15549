import { Hono } from 'hono';
import type { Db } from '../../db/database.ts';
import type { TelehealthOptions } from '../options.ts';
import { reminderRoutes } from '../reminders/routes.ts';
import { appointmentRoutes } from './appointment-routes.ts';
import { providerRoutes } from './provider-routes.ts';

export { startAppointmentJobs } from './no-show-job.ts';

/** /api/telehealth: providers, availability, booking, cancel, reschedule, reminder opt-in. */
export function appointmentsApp(db: Db, options: TelehealthOptions): Hono {
  const app = new Hono();
  app.route('/', providerRoutes(db, options));
  app.route('/', appointmentRoutes(db, options));
  app.route('/', reminderRoutes(db, options));
  return app;
}
