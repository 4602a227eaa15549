import type { Context } from 'hono';
import { accessOf } from '../../access/index.ts';
import type { Db } from '../../db/database.ts';
import type { BinarySource } from '../../fhir/index.ts';
import { fhirJson, operationOutcome } from '../../fhir/operation-outcome.ts';
import { requireParticipant } from '../appointments/visit.ts';
import { DocumentIntegrityError } from './secretstream.ts';
import { loadDocument, openDocument } from './visit-documents.ts';

/**
 * The documents of visits as FHIR Binary (same id as their DocumentReference, which is their
 * securityContext): read by the visit's participants only, decrypted and checked whole first.
 */
export function documentBinaries(db: Db, log?: (message: string) => void): BinarySource {
  return {
    async read(c: Context, id: string) {
      const row = await loadDocument(db, id);
      if (!row) return undefined;
      const access = accessOf(c);
      const op = access.record('read', `Binary/${id}`);
      await requireParticipant(db, access, row.appointmentId, op);
      let messages: Uint8Array[];
      try {
        messages = await openDocument(db, row);
      } catch (error) {
        if (!(error instanceof DocumentIntegrityError)) throw error;
        log?.(`telehealth: document ${id} refused: ${error.message}`);
        return fhirJson(
          c,
          operationOutcome('exception', 'The stored document failed its integrity check'),
          500,
        );
      }
      return fhirJson(c, {
        resourceType: 'Binary',
        id,
        meta: { lastUpdated: new Date(row.uploadedAt).toISOString() },
        contentType: row.contentType,
        securityContext: { reference: `DocumentReference/${id}` },
        data: Buffer.concat(messages).toString('base64'),
      });
    },
  };
}
