import { and, eq, gt, lt, ne } from 'drizzle-orm';
import type { Db } from '../../db/database.ts';
import type { FhirResource } from '../../fhir/store/validate.ts';
import { addDays, type LocalDate } from '../../time/zoned-time.ts';
import type { Provider } from './providers.ts';
import { telehealthAppointments } from './schema.ts';
import { type GridSlot, gridSlots } from './working-hours.ts';

/**
 * FHIR Slots of a provider's Schedule. A slot's id is derived from its schedule and start, so
 * the computed free slot and the stored busy one of the same time are the same Slot: booking
 * stores it (status busy), cancelling stores it again as free. Free slots that were never
 * booked are not stored; availability computes them from the working hours.
 */
export function slotId(scheduleId: string, start: number): string {
  return `${scheduleId}.${start.toString(36)}`;
}

export function fhirSlot(
  provider: Pick<Provider, 'scheduleId'>,
  slot: GridSlot,
  status: 'free' | 'busy',
): FhirResource & { id: string } {
  return {
    resourceType: 'Slot',
    id: slotId(provider.scheduleId, slot.start),
    schedule: { reference: `Schedule/${provider.scheduleId}` },
    status,
    start: new Date(slot.start).toISOString(),
    end: new Date(slot.end).toISOString(),
  };
}

/** Appointments of the provider that hold time in [from, to): all but cancelled ones. */
export async function bookedBetween(
  db: Db,
  providerUserId: string,
  from: number,
  to: number,
  exceptId?: string,
): Promise<{ id: string; startAt: number; endAt: number }[]> {
  return db
    .select({
      id: telehealthAppointments.id,
      startAt: telehealthAppointments.startAt,
      endAt: telehealthAppointments.endAt,
    })
    .from(telehealthAppointments)
    .where(
      and(
        eq(telehealthAppointments.providerUserId, providerUserId),
        ne(telehealthAppointments.status, 'cancelled'),
        lt(telehealthAppointments.startAt, to),
        gt(telehealthAppointments.endAt, from),
        ...(exceptId ? [ne(telehealthAppointments.id, exceptId)] : []),
      ),
    );
}

/**
 * The provider's slots on local dates from..to in their zone: busy where an appointment holds
 * any of the time, free otherwise; slots that start before `now` are left out.
 */
export async function availability(
  db: Db,
  provider: Provider,
  from: LocalDate,
  to: LocalDate,
  now: number,
): Promise<FhirResource[]> {
  const grid = gridSlots(
    provider.workingHours,
    provider.timeZone,
    provider.slotMinutes,
    from,
    to,
  ).filter((s) => s.start >= now);
  if (grid.length === 0) return [];
  const booked = await bookedBetween(db, provider.userId, grid[0].start, grid.at(-1)?.end ?? 0);
  return grid.map((s) =>
    fhirSlot(
      provider,
      s,
      booked.some((b) => b.startAt < s.end && b.endAt > s.start) ? 'busy' : 'free',
    ),
  );
}

/** The grid slot that starts at `start` (on the provider's working hours), if there is one. */
export function slotAt(provider: Provider, start: number): GridSlot | undefined {
  // The slot's local date may be the UTC date or a neighbour (zones run -12…+14 h).
  const day = new Date(start);
  const utc = { year: day.getUTCFullYear(), month: day.getUTCMonth() + 1, day: day.getUTCDate() };
  const from = addDays(utc, -1);
  const to = addDays(utc, 1);
  return gridSlots(provider.workingHours, provider.timeZone, provider.slotMinutes, from, to).find(
    (s) => s.start === start,
  );
}
