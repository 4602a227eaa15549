import { z } from 'zod';
import {
  addDays,
  compareDates,
  instantOf,
  type LocalDate,
  WEEKDAYS,
  type Weekday,
  weekdayOf,
} from '../../time/zoned-time.ts';

/** Weekday → [start, end] wall-clock windows ("HH:MM", end exclusive; "24:00" allowed). */
export type WorkingHours = Partial<Record<Weekday, [string, string][]>>;

const HH_MM = /^([01]\d|2[0-4]):([0-5]\d)$/;

const minutesOf = (hhmm: string) => {
  const [h, m] = hhmm.split(':').map(Number);
  return h * 60 + m;
};

export const workingHoursSchema = z
  .partialRecord(
    z.enum(WEEKDAYS),
    z
      .array(
        z
          .tuple([
            z.string().regex(HH_MM, 'a time as HH:MM'),
            z.string().regex(HH_MM, 'a time as HH:MM'),
          ])
          .refine(([from, to]) => minutesOf(from) < minutesOf(to) && minutesOf(to) <= 24 * 60, {
            message: 'a window must end after it starts, by 24:00',
          }),
      )
      .max(12),
  )
  .refine(
    (hours) =>
      Object.values(hours).every((windows) => {
        const sorted = [...(windows ?? [])].sort((a, b) => minutesOf(a[0]) - minutesOf(b[0]));
        return sorted.every((w, i) => i === 0 || minutesOf(sorted[i - 1][1]) <= minutesOf(w[0]));
      }),
    { message: 'the windows of a day must not overlap' },
  ) as unknown as z.ZodType<WorkingHours>;

export interface GridSlot {
  start: number;
  end: number;
}

/**
 * The slots of the working hours on local dates from..to (inclusive) in `timeZone`: each window
 * cut into `slotMinutes` pieces from its start, each converted to an instant on its own, so a
 * DST change moves the UTC times and never the wall-clock ones. A slot lasts slotMinutes of
 * real time; one whose wall-clock start does not exist that day (skipped by the change) is left
 * out, and in a repeated hour only the first occurrence is offered.
 */
export function gridSlots(
  hours: WorkingHours,
  timeZone: string,
  slotMinutes: number,
  from: LocalDate,
  to: LocalDate,
): GridSlot[] {
  const slots: GridSlot[] = [];
  for (let date = from; compareDates(date, to) <= 0; date = addDays(date, 1)) {
    for (const [open, close] of hours[weekdayOf(date)] ?? []) {
      const closing = minutesOf(close);
      for (let m = minutesOf(open); m + slotMinutes <= closing; m += slotMinutes) {
        const start = instantOf(wallClock(date, m), timeZone);
        if (start !== undefined) slots.push({ start, end: start + slotMinutes * 60_000 });
      }
    }
  }
  return slots.sort((a, b) => a.start - b.start);
}

function wallClock(date: LocalDate, minutes: number) {
  return { ...date, hour: Math.floor(minutes / 60), minute: minutes % 60 };
}
