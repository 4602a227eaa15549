import type { FhirResource } from '../../fhir/store/validate.ts';
import type { Visit, VisitRole } from '../appointments/visit.ts';

/** Extension on Attachment carrying the SHA-256 (hex) of the content beside FHIR's SHA-1 hash. */
export const ATTACHMENT_SHA256_EXTENSION = 'urn:wardgate:attachment-sha256';

/** Where a document's content is served (the DocumentReference's attachment URL). */
export const documentContentPath = (id: string) => `/api/telehealth/documents/${id}/content`;

export interface SharedDocument {
  id: string;
  visit: Visit;
  uploaderRole: VisitRole;
  contentType: string;
  sizeBytes: number;
  sha1: string;
  sha256: string;
  title: string;
  description: string | undefined;
  at: number;
}

/** The FHIR DocumentReference of a document shared in a visit. */
export function fhirDocumentReference(d: SharedDocument): FhirResource {
  const when = new Date(d.at).toISOString();
  const author =
    d.uploaderRole === 'host'
      ? `Practitioner/${d.visit.practitionerId}`
      : `Patient/${d.visit.patientId}`;
  return {
    resourceType: 'DocumentReference',
    id: d.id,
    status: 'current',
    type: { text: 'Document shared in a telehealth visit' },
    subject: { reference: `Patient/${d.visit.patientId}` },
    date: when,
    author: [{ reference: author }],
    ...(d.description && { description: d.description }),
    content: [
      {
        attachment: {
          extension: [{ url: ATTACHMENT_SHA256_EXTENSION, valueString: d.sha256 }],
          contentType: d.contentType,
          // The FHIR Binary (relative to the FHIR base); the API serves the raw bytes too.
          url: `Binary/${d.id}`,
          size: d.sizeBytes,
          hash: d.sha1,
          title: d.title,
          creation: when,
        },
      },
    ],
    context: { related: [{ reference: `Appointment/${d.visit.appointmentId}` }] },
  };
}
