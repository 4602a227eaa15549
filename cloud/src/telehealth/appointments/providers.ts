import { eq, or } from 'drizzle-orm';
import { z } from 'zod';
import { getUser } from '../../auth/users.ts';
import type { Db } from '../../db/database.ts';
import { ResourceStore } from '../../fhir/store/resource-store.ts';
import type { FhirResource } from '../../fhir/store/validate.ts';
import { ApiError } from '../../http/json-body.ts';
import { isTimeZone } from '../../time/zoned-time.ts';
import { isNpi, NPI_SYSTEM } from './npi.ts';
import { telehealthProviders } from './schema.ts';
import { type WorkingHours, workingHoursSchema } from './working-hours.ts';

export type Provider = typeof telehealthProviders.$inferSelect & { workingHours: WorkingHours };

export const providerSettingsSchema = z.object({
  timeZone: z.string().refine(isTimeZone, 'an IANA time zone, e.g. Europe/Amsterdam'),
  workingHours: workingHoursSchema,
  slotMinutes: z.number().int().min(5).max(240),
  /** An existing Practitioner to schedule; without it one is made from `name`. */
  practitionerId: z
    .string()
    .regex(/^[A-Za-z0-9\-.]{1,64}$/)
    .optional(),
  /** The prescriber's NPI, put on the Practitioner (e-prescribing names the prescriber by it). */
  npi: z.string().refine(isNpi, 'a valid 10-digit NPI').optional(),
  /** The clinician's name for a new Practitioner, e.g. {family: "Visser", prefix: ["Dr."]}. */
  name: z
    .object({
      family: z.string().min(1).max(100),
      given: z.array(z.string().min(1).max(100)).max(5).optional(),
      prefix: z.array(z.string().min(1).max(20)).max(3).optional(),
    })
    .optional(),
});
export type ProviderSettings = z.infer<typeof providerSettingsSchema>;

/** The provider by the doctor's user id or by their Practitioner id. */
export async function findProvider(db: Db, id: string): Promise<Provider | undefined> {
  const [row] = await db
    .select()
    .from(telehealthProviders)
    .where(or(eq(telehealthProviders.userId, id), eq(telehealthProviders.practitionerId, id)));
  return row as Provider | undefined;
}

export async function listProviders(db: Db): Promise<Provider[]> {
  return (await db.select().from(telehealthProviders)) as Provider[];
}

/**
 * Makes the doctor `userId` a provider, or changes their hours: the first time a Practitioner
 * (unless one is given) and a Schedule are created. Their Practitioner stays once set.
 */
export async function saveProvider(
  db: Db,
  userId: string,
  settings: ProviderSettings,
  now: number,
): Promise<{ provider: Provider; created: boolean }> {
  const user = await getUser(db, userId).catch(() => undefined);
  if (!user) throw new ApiError(404, 'not_found', `no user ${userId}`);
  if (user.role !== 'doctor')
    throw new ApiError(400, 'not_a_doctor', 'only doctors can be telehealth providers');
  const store = new ResourceStore(db);
  const fields = {
    timeZone: settings.timeZone,
    workingHours: settings.workingHours as Record<string, [string, string][]>,
    slotMinutes: settings.slotMinutes,
    updatedAt: now,
  };
  const existing = await findProvider(db, userId);
  if (existing) {
    if (settings.practitionerId && settings.practitionerId !== existing.practitionerId)
      throw new ApiError(400, 'practitioner_fixed', 'a provider keeps their Practitioner');
    const [row] = await db
      .update(telehealthProviders)
      .set(fields)
      .where(eq(telehealthProviders.userId, userId))
      .returning();
    if (settings.npi) await setNpi(store, existing.practitionerId, settings.npi);
    return { provider: row as Provider, created: false };
  }
  let practitionerId = settings.practitionerId;
  if (practitionerId) {
    const found = await store.read('Practitioner', practitionerId);
    if (!found?.resource)
      throw new ApiError(400, 'unknown_practitioner', `no Practitioner/${practitionerId}`);
    if (await findProvider(db, practitionerId))
      throw new ApiError(409, 'practitioner_taken', 'that Practitioner is another provider');
    if (settings.npi) await setNpi(store, practitionerId, settings.npi);
  } else {
    if (!settings.name)
      throw new ApiError(400, 'invalid_body', 'name: needed when no practitionerId is given');
    practitionerId = (
      await store.create({
        resourceType: 'Practitioner',
        ...(settings.npi && { identifier: [npiIdentifier(settings.npi)] }),
        name: [settings.name],
      })
    ).id;
  }
  const schedule = await store.create({
    resourceType: 'Schedule',
    active: true,
    actor: [{ reference: `Practitioner/${practitionerId}` }],
    comment: `telehealth hours in ${settings.timeZone}, ${settings.slotMinutes}-minute slots`,
  });
  const [row] = await db
    .insert(telehealthProviders)
    .values({ userId, practitionerId, scheduleId: schedule.id, ...fields })
    .returning();
  return { provider: row as Provider, created: true };
}

const npiIdentifier = (npi: string) => ({ system: NPI_SYSTEM, value: npi });

/** Puts `npi` on the Practitioner in place of any NPI it had. */
async function setNpi(store: ResourceStore, practitionerId: string, npi: string): Promise<void> {
  const current = (await store.read('Practitioner', practitionerId))?.resource;
  if (!current) return;
  const others = ((current.identifier as { system?: string }[] | undefined) ?? []).filter(
    (i) => i.system !== NPI_SYSTEM,
  );
  await store.update({ ...current, identifier: [...others, npiIdentifier(npi)] });
}

/** What the API shows of a provider (no PHI). */
export function providerView(p: Provider) {
  return {
    userId: p.userId,
    practitionerId: p.practitionerId,
    scheduleId: p.scheduleId,
    timeZone: p.timeZone,
    workingHours: p.workingHours,
    slotMinutes: p.slotMinutes,
    updatedAt: new Date(p.updatedAt).toISOString(),
  };
}

/** "Dr. Anne Visser" from a Practitioner's first name; null when it has none. */
export function practitionerName(practitioner: FhirResource | undefined): string | null {
  const name = (
    practitioner?.name as
      | { text?: string; prefix?: string[]; given?: string[]; family?: string }[]
      | undefined
  )?.[0];
  if (!name) return null;
  if (name.text) return name.text;
  const parts = [...(name.prefix ?? []), ...(name.given ?? []), name.family].filter(Boolean);
  return parts.length ? parts.join(' ') : null;
}
