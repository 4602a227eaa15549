import { randomUUID } from 'node:crypto';
import { type Context, Hono } from 'hono';
import sodium from 'libsodium-wrappers';
import { accessOf } from '../../access/index.ts';
import type { Db } from '../../db/database.ts';
import { ApiError, errorBody } from '../../http/json-body.ts';
import { requireParticipant, type Visit } from '../appointments/visit.ts';
import type { TelehealthOptions } from '../options.ts';
import { ALLOWED_CONTENT_TYPES, allowedMediaType } from './content-types.ts';
import { type DocumentSettings, documentSettings } from './options.ts';
import { DocumentIntegrityError } from './secretstream.ts';
import { encryptUpload } from './upload.ts';
import {
  documentReferenceOf,
  listDocuments,
  loadDocument,
  openDocument,
  saveDocument,
} from './visit-documents.ts';

export { type DocumentView, listDocuments } from './visit-documents.ts';

const UPLOAD_PATH = /^\/api\/telehealth\/appointments\/[^/]+\/documents$/;

/**
 * The document upload route, which enforces its own size limit (telehealth.documents.maxBytes)
 * while it streams: server.ts exempts it from the 1 MiB /api body limit.
 */
export function isDocumentUpload(c: Context): boolean {
  return c.req.method === 'POST' && UPLOAD_PATH.test(c.req.path);
}

const MAX_TITLE = 255;
const MAX_DESCRIPTION = 1000;

/**
 * /api/telehealth: documents shared in a visit, by its participants only. Upload is the raw file
 * as the body (Content-Type its type; the name in X-File-Name or ?name=, percent-encoded; an
 * optional X-Description or ?description=), from `openBeforeStartMs` before the start to
 * `closeAfterEndMs` after the end of a visit that is not cancelled or a no-show. Reading and
 * listing stay open to the participants afterwards: the documents are part of the record.
 */
export function documentsApp(db: Db, options: TelehealthOptions): Hono {
  const app = new Hono();
  const settings = documentSettings(options.documents);
  const now = options.now ?? Date.now;

  app.post('/appointments/:id/documents', async (c) => {
    // Until the body has been read whole, any answer (refusals, thrown errors included) closes
    // the connection: Node would otherwise read the unwanted rest of an upload of any size.
    c.header('Connection', 'close');
    const access = accessOf(c);
    const appointmentId = c.req.param('id');
    const op = access.record('create', `Appointment/${appointmentId}/documents`);
    const { visit, role } = await requireParticipant(db, access, appointmentId, op);
    const refuse = (status: 400 | 409 | 413 | 415, code: string, message: string) =>
      c.json(errorBody(code, message), status);
    const declared = Number(c.req.header('content-length') ?? Number.NaN);
    if (declared > settings.maxBytes) return refuse(413, 'document_too_large', tooLarge(settings));
    const mediaType = allowedMediaType(c.req.header('content-type'));
    if (!mediaType)
      return refuse(
        415,
        'unsupported_content_type',
        `Documents may be ${ALLOWED_CONTENT_TYPES.join(', ')} (text as UTF-8)`,
      );
    const title = uploadText(c, 'x-file-name', 'name', MAX_TITLE);
    if (!title) return refuse(400, 'file_name_required', 'Name the file in X-File-Name or ?name=');
    if (/[/\\]/.test(title))
      return refuse(400, 'invalid_file_name', 'The file name may not contain / or \\');
    const description = uploadText(c, 'x-description', 'description', MAX_DESCRIPTION);
    const closed = sharingClosed(visit, now(), settings);
    if (closed) return refuse(409, closed.code, closed.message);
    const body = c.req.raw.body;
    if (!body) return refuse(400, 'empty_document', 'The document is empty');

    await sodium.ready;
    const id = randomUUID();
    const upload = await encryptUpload(body, id, mediaType, settings);
    if ('refused' in upload) {
      if (upload.refused === 'too_large')
        return refuse(413, 'document_too_large', tooLarge(settings));
      if (upload.refused === 'empty') return refuse(400, 'empty_document', 'The document is empty');
      return refuse(415, 'content_mismatch', `The content is not ${mediaType}`);
    }
    c.header('Connection', undefined);
    const at = now();
    const view = await saveDocument(
      db,
      {
        id,
        visit,
        uploaderRole: role,
        uploadedBy: access.principal.id,
        contentType: mediaType,
        sizeBytes: upload.sizeBytes,
        sha1: upload.sha1,
        sha256: upload.sha256,
        title,
        description,
        at,
      },
      upload,
      settings.chunkBytes,
    );
    op.entity = `DocumentReference/${id}`;
    return c.json(view, 201, { Location: view.url });
  });

  app.get('/appointments/:id/documents', async (c) => {
    const access = accessOf(c);
    const appointmentId = c.req.param('id');
    const op = access.record('search', `DocumentReference?related=Appointment/${appointmentId}`);
    await requireParticipant(db, access, appointmentId, op);
    return c.json({ documents: await listDocuments(db, appointmentId) });
  });

  /** The document's FHIR DocumentReference. */
  app.get('/documents/:id', async (c) => {
    const access = accessOf(c);
    const id = c.req.param('id');
    const op = access.record('read', `DocumentReference/${id}`);
    const row = await participantsDocument(db, c, id, op);
    const reference = await documentReferenceOf(db, row.id);
    if (!reference) throw new ApiError(404, 'not_found', 'The document has no DocumentReference');
    return c.json(reference);
  });

  /** The decrypted content (the Binary of the DocumentReference). */
  app.get('/documents/:id/content', async (c) => {
    const access = accessOf(c);
    const id = c.req.param('id');
    const op = access.record('read', `DocumentReference/${id}/content`);
    const row = await participantsDocument(db, c, id, op);
    let messages: Uint8Array[];
    try {
      messages = await openDocument(db, row);
    } catch (error) {
      if (!(error instanceof DocumentIntegrityError)) throw error;
      options.log?.(`telehealth: document ${id} refused: ${error.message}`);
      return c.json(
        errorBody('document_integrity', 'The stored document failed its integrity check'),
        500,
      );
    }
    const reference = await documentReferenceOf(db, row.id);
    const content = reference?.content as { attachment?: { title?: string } }[] | undefined;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const m of messages) controller.enqueue(m);
        controller.close();
      },
    });
    return c.body(stream, 200, {
      'Content-Type':
        row.contentType === 'text/plain' ? 'text/plain; charset=utf-8' : row.contentType,
      'Content-Length': String(row.sizeBytes),
      'Content-Disposition': attachment(content?.[0]?.attachment?.title ?? `document-${id}`),
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-store',
      'Content-Security-Policy': "default-src 'none'; sandbox",
    });
  });

  return app;
}

/** The document when the principal takes part in its visit; a stranger learns nothing of it. */
async function participantsDocument(
  db: Db,
  c: Context,
  id: string,
  op: ReturnType<ReturnType<typeof accessOf>['record']>,
) {
  const access = accessOf(c);
  const row = await loadDocument(db, id);
  if (!row) {
    access.decided = true;
    throw access.deny('only the participants of the visit may read its documents');
  }
  await requireParticipant(db, access, row.appointmentId, op);
  return row;
}

function tooLarge(settings: DocumentSettings): string {
  return `A document may be at most ${settings.maxBytes} bytes`;
}

/** A header (percent-encoded UTF-8) or query value: trimmed, without control characters. */
function uploadText(c: Context, header: string, query: string, max: number): string | undefined {
  const raw = c.req.header(header);
  let value: string | undefined;
  if (raw !== undefined) {
    try {
      value = decodeURIComponent(raw);
    } catch {
      throw new ApiError(400, 'invalid_header', `${header} is not valid percent-encoded UTF-8`);
    }
  } else value = c.req.query(query);
  value = value?.trim();
  if (!value) return undefined;
  if (/\p{Cc}/u.test(value))
    throw new ApiError(400, 'invalid_header', `${header} may not contain control characters`);
  if (value.length > max)
    throw new ApiError(400, 'invalid_header', `${header} may be at most ${max} characters`);
  return value;
}

/** Why documents cannot be shared in this visit now, if they cannot. */
function sharingClosed(
  visit: Visit,
  at: number,
  settings: DocumentSettings,
): { code: string; message: string } | undefined {
  if (visit.status === 'cancelled' || visit.status === 'no-show')
    return { code: 'visit_closed', message: `The appointment is ${visit.status}` };
  if (at < visit.startAt - settings.openBeforeStartMs)
    return {
      code: 'visit_not_open',
      message: `Documents can be shared from ${settings.openBeforeStartMs / 60_000} minutes before the start`,
    };
  if (at > visit.endAt + settings.closeAfterEndMs)
    return {
      code: 'visit_closed',
      message: `Documents can be shared until ${settings.closeAfterEndMs / 60_000} minutes after the end`,
    };
  return undefined;
}

/** Content-Disposition: attachment with an ASCII fallback name and the UTF-8 one (RFC 6266). */
function attachment(name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
