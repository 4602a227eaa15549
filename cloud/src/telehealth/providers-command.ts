import { createAuditLog } from '../audit/chain-writer.ts';
import { adminEntry as adminAuditEntry, options, required } from '../auth/cli.ts';
import { getUserByUsername } from '../auth/users.ts';
import type { CliContext } from '../cli-context.ts';
import { ApiError } from '../http/json-body.ts';
import { WEEKDAYS, type Weekday } from '../time/zoned-time.ts';
import { listProviders, providerSettingsSchema, saveProvider } from './appointments/providers.ts';
import type { WorkingHours } from './appointments/working-hours.ts';

export const PROVIDERS_USAGE = `  providers set --username U --time-zone ZONE --hours DAYS=HH:MM-HH:MM[,HH:MM-HH:MM] ...
            [--slot-minutes N] [--family NAME] [--practitioner-id ID] [--npi NPI] [--data-dir D]
      Make doctor U a telehealth provider, or change their working hours: wall-clock windows in
      the IANA zone (e.g. --hours mon-fri=09:00-12:30,13:30-17:00 --hours sat=10:00-12:00),
      cut into slots of N minutes (default 30). The first time, a Practitioner (named --family,
      or the existing --practitioner-id) and a Schedule are made. --npi puts the prescriber's
      National Provider Identifier on the Practitioner: e-prescriptions need it.
  providers list [--data-dir D]`;

/** `wardgate-cloud providers <command>`. */
export async function providersCommand(args: string[], cli: CliContext): Promise<number> {
  const [action, ...rest] = args;
  switch (action) {
    case 'set': {
      const values = options(cli, rest, {
        username: { type: 'string' },
        'time-zone': { type: 'string' },
        hours: { type: 'string', multiple: true },
        'slot-minutes': { type: 'string' },
        family: { type: 'string' },
        'practitioner-id': { type: 'string' },
        npi: { type: 'string' },
      });
      if (values.help) return cli.usage(0);
      const username = required(cli, values.username, 'username');
      const hours = values.hours as unknown as string[] | undefined;
      if (!hours?.length) throw cli.usageError('--hours is required');
      const parsed = providerSettingsSchema.safeParse({
        timeZone: required(cli, values['time-zone'], 'time-zone'),
        workingHours: workingHoursOf(hours, cli),
        slotMinutes: Number(values['slot-minutes'] ?? 30),
        practitionerId: values['practitioner-id'],
        npi: values.npi,
        name: values.family ? { family: values.family, prefix: ['Dr.'] } : undefined,
      });
      if (!parsed.success)
        throw cli.usageError(
          parsed.error.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; '),
        );
      return cli.withDatabase(values['data-dir'], async (database) => {
        const user = await getUserByUsername(database.db, username).catch(() => undefined);
        if (!user) throw new Error(`no user ${username}`);
        try {
          const { provider, created } = await saveProvider(
            database.db,
            user.id,
            { ...parsed.data, name: parsed.data.name ?? { family: username } },
            Date.now(),
          );
          await adminAuditEntry(
            createAuditLog(database.db),
            `telehealth/providers/${user.id}`,
            created ? 'telehealth provider registered' : 'telehealth working hours changed',
          );
          console.log(
            `${username}: provider ${provider.practitionerId} (Practitioner), schedule ${provider.scheduleId}, ${provider.timeZone}, ${provider.slotMinutes}-minute slots`,
          );
          return 0;
        } catch (error) {
          if (error instanceof ApiError) throw new Error(error.message);
          throw error;
        }
      });
    }
    case 'list': {
      const values = options(cli, rest, {});
      if (values.help) return cli.usage(0);
      return cli.withDatabase(values['data-dir'], async (database) => {
        for (const p of await listProviders(database.db))
          console.log(
            [
              p.userId,
              p.practitionerId,
              p.timeZone,
              `${p.slotMinutes} min`,
              JSON.stringify(p.workingHours),
            ].join('\t'),
          );
        return 0;
      });
    }
    default:
      throw cli.usageError(`unknown providers command "${action ?? ''}"`);
  }
}

/** "mon-fri=09:00-12:30,13:30-17:00" (repeatable) as working hours. */
function workingHoursOf(texts: string[], cli: CliContext): WorkingHours {
  const hours: WorkingHours = {};
  for (const text of texts) {
    const m = /^([a-z]{3})(?:-([a-z]{3}))?=(.+)$/.exec(text.trim().toLowerCase());
    if (!m)
      throw cli.usageError(
        `--hours "${text}": expected DAYS=HH:MM-HH:MM, e.g. mon-fri=09:00-17:00`,
      );
    const days = dayRange(m[1], m[2] ?? m[1], text, cli);
    const windows = m[3].split(',').map((w) => {
      const [from, to] = w.split('-');
      if (!from || !to) throw cli.usageError(`--hours "${text}": a window is HH:MM-HH:MM`);
      return [from, to] as [string, string];
    });
    for (const day of days) hours[day] = [...(hours[day] ?? []), ...windows];
  }
  return hours;
}

function dayRange(from: string, to: string, text: string, cli: CliContext): Weekday[] {
  // Monday first, so mon-fri and sat-sun read as people write them.
  const week: Weekday[] = [...WEEKDAYS.slice(1), 'sun'];
  const a = week.indexOf(from as Weekday);
  const b = week.indexOf(to as Weekday);
  if (a < 0 || b < 0 || b < a)
    throw cli.usageError(`--hours "${text}": days are mon..sun, first to last (e.g. mon-fri)`);
  return week.slice(a, b + 1);
}
