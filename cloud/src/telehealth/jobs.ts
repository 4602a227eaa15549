import type { Db } from '../db/database.ts';
import { startAppointmentJobs } from './appointments/index.ts';
import type { TelehealthOptions } from './options.ts';
import { startPrescriptionTransmission } from './prescriptions/index.ts';
import { startReminderJob } from './reminders/job.ts';

export type TelehealthJobs = ReturnType<typeof startTelehealthJobs>;

/** Telehealth's background work: no-shows, reminders, e-prescribing (each runNow() for tests). */
export function startTelehealthJobs(db: Db, options: TelehealthOptions) {
  const appointments = startAppointmentJobs(db, options);
  const reminders = startReminderJob(db, options);
  const prescriptions = startPrescriptionTransmission(db, options);
  return {
    appointments,
    reminders,
    prescriptions,
    async stop() {
      await Promise.all([appointments.stop(), reminders.stop(), prescriptions.stop()]);
    },
  };
}
