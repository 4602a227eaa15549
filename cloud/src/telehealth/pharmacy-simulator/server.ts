import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  buildError,
  buildStatus,
  ERROR_REJECTED,
  ERROR_UNABLE_TO_PROCESS,
  type NewRx,
  parseNewRx,
  parseScript,
  textOf,
} from '../prescriptions/ncpdp-script.ts';

/** How the simulated pharmacy misbehaves; counted over NewRx requests, in this order. */
export interface PharmacyFailureModes {
  /** Answer HTTP 503 to the first K requests. */
  failFirst?: number;
  /** Store the prescription, then drop the connection without answering, for the next K. */
  dropFirst?: number;
  /** Answer a SCRIPT Error for prescriptions of these RxNorm codes. */
  errorForRxnorm?: string[];
}

export interface PharmacySimulatorOptions extends PharmacyFailureModes {
  /** 0 (default) for any free port. */
  port?: number;
  host?: string;
  log?: (line: string) => void;
}

export interface ReceivedPrescription {
  messageId: string;
  receivedAt: number;
  newRx: NewRx;
}

export interface PharmacySimulator {
  /** Where NewRx messages go (options.pharmacy.url). */
  url: string;
  /** Prescriptions accepted, each MessageID once. */
  received: ReceivedPrescription[];
  /** NewRx requests seen, repeats and refusals included. */
  requests: number;
  setFailureModes(modes: PharmacyFailureModes): void;
  close(): Promise<void>;
}

const MAX_BODY = 1 << 20;
const XML_TYPES = /^(application|text)\/xml\s*(;|$)/i;

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A pharmacy that speaks NCPDP SCRIPT over HTTP: POST /script takes a NewRx (application/xml),
 * checks it, keeps it once per MessageID and answers Status, or Error saying what is wrong;
 * GET /prescriptions lists what it accepted. Failure modes make it answer 503, drop the
 * connection or answer Error, for the retry tests and the demo.
 */
export async function startPharmacySimulator(
  options: PharmacySimulatorOptions = {},
): Promise<PharmacySimulator> {
  const log = options.log ?? (() => {});
  let modes: Required<PharmacyFailureModes> = {
    failFirst: options.failFirst ?? 0,
    dropFirst: options.dropFirst ?? 0,
    errorForRxnorm: options.errorForRxnorm ?? [],
  };
  const byMessageId = new Map<string, ReceivedPrescription>();
  const state: { received: ReceivedPrescription[]; requests: number } = {
    received: [],
    requests: 0,
  };

  const xml = (res: ServerResponse, body: string) =>
    res.writeHead(200, { 'content-type': 'application/xml; charset=utf-8' }).end(body);

  async function newRx(req: IncomingMessage, res: ServerResponse) {
    state.requests += 1;
    if (!XML_TYPES.test(req.headers['content-type'] ?? ''))
      return res.writeHead(415, { 'content-type': 'text/plain' }).end('send application/xml');
    const body = await readBody(req);
    if (body === undefined) return res.writeHead(413).end();
    if (modes.failFirst > 0) {
      modes.failFirst -= 1;
      log('pharmacy: 503 (fail-first)');
      return res.writeHead(503, { 'retry-after': '1' }).end('temporarily unavailable');
    }
    const parsed = parseNewRx(body);
    const tree = parseScript(body);
    const header = 'message' in tree ? tree.message.Header : undefined;
    const answer = {
      to: textOf(header?.From) ?? '',
      from: textOf(header?.To) ?? '',
      messageId: randomUUID(),
      relatesTo: textOf(header?.MessageID) ?? '',
      sentAt: Date.now(),
    };
    if ('problems' in parsed) {
      log(`pharmacy: rejected ${answer.relatesTo}: ${parsed.problems.join('; ')}`);
      return xml(res, buildError(answer, ERROR_REJECTED, parsed.problems.join('; ')));
    }
    const rx = parsed.newRx;
    if (answer.from !== rx.pharmacy.ncpdpId)
      return xml(
        res,
        buildError(answer, ERROR_REJECTED, 'Header/To is not the NewRx Pharmacy NCPDPID'),
      );
    const seen = byMessageId.get(rx.messageId);
    if (seen) {
      log(`pharmacy: repeat of ${rx.messageId}, already accepted`);
      return xml(res, buildStatus(answer, 'Accepted (repeat of an accepted message)'));
    }
    if (modes.errorForRxnorm.includes(rx.medication.rxnorm)) {
      log(`pharmacy: Error for RxNorm ${rx.medication.rxnorm}`);
      return xml(
        res,
        buildError(
          answer,
          ERROR_UNABLE_TO_PROCESS,
          `RxNorm ${rx.medication.rxnorm} cannot be dispensed here`,
        ),
      );
    }
    const stored = { messageId: rx.messageId, receivedAt: Date.now(), newRx: rx };
    byMessageId.set(rx.messageId, stored);
    state.received.push(stored);
    log(`pharmacy: accepted ${rx.messageId}`);
    if (modes.dropFirst > 0) {
      modes.dropFirst -= 1;
      log('pharmacy: dropping the connection (drop-first)');
      req.socket.destroy();
      return;
    }
    xml(res, buildStatus(answer));
  }

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://pharmacy').pathname;
    if (req.method === 'POST' && path === '/script') {
      newRx(req, res).catch((error) => {
        log(`pharmacy: ${(error as Error).message}`);
        if (!res.headersSent) res.writeHead(500).end();
      });
      return;
    }
    if (req.method === 'GET' && path === '/prescriptions') {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ prescriptions: state.received }));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('POST /script or GET /prescriptions');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/script`,
    get received() {
      return state.received;
    },
    get requests() {
      return state.requests;
    },
    setFailureModes(next) {
      modes = {
        failFirst: next.failFirst ?? 0,
        dropFirst: next.dropFirst ?? 0,
        errorForRxnorm: next.errorForRxnorm ?? [],
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
