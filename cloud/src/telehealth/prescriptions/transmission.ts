import { and, asc, eq, isNull, lte, or, sql } from 'drizzle-orm';
import { createAuditLog } from '../../audit/chain-writer.ts';
import type { Db } from '../../db/database.ts';
import { ResourceStore } from '../../fhir/store/resource-store.ts';
import type { TelehealthOptions } from '../options.ts';
import { withTransmission } from './medication-request.ts';
import { buildNewRx, parseAnswer } from './ncpdp-script.ts';
import { newRxOf, UnsendablePrescription } from './newrx-from-record.ts';
import { type PharmacySettings, pharmacySettings, retryDelay } from './options.ts';
import { prescriptions } from './schema.ts';

const BATCH = 50;
const MAX_ERROR = 500;
const ACTOR = { kind: 'system' as const, id: 'erx-transmission' };

export interface TransmissionRound {
  sent: number;
  /** Failed attempts that will be retried. */
  retrying: number;
  /** Prescriptions given up on in this round. */
  failed: number;
}

type Outcome = { ok: true } | { ok: false; error: string; permanent: boolean };

/** Posts one NewRx and reads the pharmacy's answer. */
async function post(settings: PharmacySettings, xml: string, messageId: string): Promise<Outcome> {
  let res: Response;
  try {
    res = await fetch(settings.url as string, {
      method: 'POST',
      headers: { 'content-type': 'application/xml; charset=utf-8', accept: 'application/xml' },
      body: xml,
      signal: AbortSignal.timeout(settings.timeoutMs),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    return {
      ok: false,
      permanent: false,
      error: `network: ${cause?.code ?? (error as Error).message}`,
    };
  }
  const text = await res.text().catch(() => '');
  if (!res.ok) return { ok: false, permanent: false, error: `HTTP ${res.status}` };
  const answer = parseAnswer(text);
  if ('problem' in answer)
    return { ok: false, permanent: false, error: `unreadable answer: ${answer.problem}` };
  if (answer.relatesTo !== undefined && answer.relatesTo !== messageId)
    return { ok: false, permanent: false, error: 'the answer relates to another message' };
  if (answer.kind === 'error')
    return {
      ok: false,
      permanent: false,
      error: `SCRIPT Error ${answer.code}: ${answer.description}`,
    };
  return { ok: true };
}

/**
 * The e-prescribing job: each pending prescription whose time has come is claimed (its attempt
 * counted and a lease taken in one conditional update, so two workers never send it at once),
 * sent as a NewRx with its fixed MessageID, and marked sent, or retried later with exponential
 * backoff, or failed after `maxAttempts` (at once when it cannot be built). The MedicationRequest
 * carries the state in its erx-transmission extension; every attempt is audited as a disclosure.
 */
export function startPrescriptionTransmission(
  db: Db,
  options: TelehealthOptions = {},
): { stop(): Promise<void>; runNow(): Promise<TransmissionRound> } {
  const settings = pharmacySettings(options.pharmacy);
  const now = options.now ?? Date.now;
  const log = options.log ?? (() => {});
  const audit = createAuditLog(db, { now });
  let running: Promise<TransmissionRound> = Promise.resolve({ sent: 0, retrying: 0, failed: 0 });

  async function attempt(id: string, seenAttempts: number, round: TransmissionRound) {
    const at = now();
    const [row] = await db
      .update(prescriptions)
      .set({ attempts: sql`${prescriptions.attempts} + 1`, nextAttemptAt: at + settings.leaseMs })
      .where(
        and(
          eq(prescriptions.id, id),
          eq(prescriptions.transmission, 'pending'),
          eq(prescriptions.attempts, seenAttempts),
          or(isNull(prescriptions.nextAttemptAt), lte(prescriptions.nextAttemptAt, at)),
        ),
      )
      .returning();
    if (!row) return; // another worker has it
    let outcome: Outcome;
    try {
      const xml = buildNewRx(await newRxOf(db, row, settings, at));
      outcome = await post(settings, xml, row.messageId);
    } catch (error) {
      if (!(error instanceof UnsendablePrescription)) throw error;
      outcome = { ok: false, permanent: true, error: error.message };
    }
    const done = now();
    const giveUp = !outcome.ok && (outcome.permanent || row.attempts >= settings.maxAttempts);
    const status = outcome.ok ? 'sent' : giveUp ? 'failed' : 'pending';
    const lastError = outcome.ok ? null : outcome.error.slice(0, MAX_ERROR);
    await db.transaction(async (tx) => {
      await tx
        .update(prescriptions)
        .set({
          transmission: status,
          sentAt: outcome.ok ? done : null,
          lastError,
          nextAttemptAt: status === 'pending' ? done + retryDelay(settings, row.attempts) : null,
        })
        .where(eq(prescriptions.id, id));
      const store = new ResourceStore(tx);
      const request = (await store.read('MedicationRequest', id))?.resource;
      if (request)
        await store.update(
          withTransmission(request, {
            status,
            messageId: row.messageId,
            pharmacyId: row.pharmacyId,
            attempts: row.attempts,
            sentAt: outcome.ok ? done : null,
            lastError,
          }),
        );
    });
    await audit.append({
      action: 'export',
      outcome: outcome.ok ? 'success' : 'failure',
      actor: ACTOR,
      patientIds: [row.patientId],
      entity: `MedicationRequest/${id}`,
      detail: `NewRx ${row.messageId} to pharmacy ${row.pharmacyId}, attempt ${row.attempts}: ${status}`,
      at: done,
    });
    if (status === 'sent') round.sent += 1;
    else if (status === 'failed') round.failed += 1;
    else round.retrying += 1;
    log(
      `erx: prescription ${id} attempt ${row.attempts}: ${status}${lastError ? ` (${lastError})` : ''}`,
    );
  }

  async function round(): Promise<TransmissionRound> {
    const result: TransmissionRound = { sent: 0, retrying: 0, failed: 0 };
    if (!settings.url) return result;
    const at = now();
    const due = await db
      .select({ id: prescriptions.id, attempts: prescriptions.attempts })
      .from(prescriptions)
      .where(
        and(
          eq(prescriptions.transmission, 'pending'),
          or(isNull(prescriptions.nextAttemptAt), lte(prescriptions.nextAttemptAt, at)),
        ),
      )
      .orderBy(asc(prescriptions.signedAt))
      .limit(BATCH);
    for (const p of due) await attempt(p.id, p.attempts, result);
    return result;
  }

  const runNow = () => {
    running = running.catch(() => undefined).then(round) as Promise<TransmissionRound>;
    return running;
  };
  const timer = setInterval(() => {
    runNow().catch((error) => log(`erx: round failed: ${(error as Error).message}`));
  }, settings.intervalMs);
  timer.unref();
  return {
    runNow,
    async stop() {
      clearInterval(timer);
      await running.catch(() => undefined);
      await audit.idle();
    },
  };
}
