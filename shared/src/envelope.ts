import { z } from 'zod';
import { AlarmEvent, EpochMs, Reading } from './records.ts';
import { signCanonical, verifyCanonical } from './signing.ts';
import { GatewayId, type Stream } from './topics.ts';

export const ENVELOPE_VERSION = 1;

const EnvelopeFields = {
  v: z.literal(ENVELOPE_VERSION),
  gatewayId: GatewayId,
  firstSeq: z.number().int().positive(),
  lastSeq: z.number().int().positive(),
  sentAt: EpochMs,
  sig: z.string().min(1),
};

export const ReadingsEnvelope = z.object({
  ...EnvelopeFields,
  stream: z.literal('readings'),
  records: z.array(Reading).min(1),
});
export const AlarmsEnvelope = z.object({
  ...EnvelopeFields,
  stream: z.literal('alarms'),
  records: z.array(AlarmEvent).min(1),
});
export const Envelope = z.discriminatedUnion('stream', [ReadingsEnvelope, AlarmsEnvelope]);
export type Envelope = z.infer<typeof Envelope>;
export type ReadingsEnvelope = z.infer<typeof ReadingsEnvelope>;
export type AlarmsEnvelope = z.infer<typeof AlarmsEnvelope>;
export type UnsignedEnvelope = Omit<Envelope, 'sig'>;

export type RecordOf<S extends Stream> = S extends 'readings' ? Reading : AlarmEvent;

/** Builds and signs an envelope; records must already be in seq order. */
export function sealEnvelope<S extends Stream>(
  gatewayId: string,
  stream: S,
  records: RecordOf<S>[],
  secretKey: string,
  sentAt = Date.now(),
): Envelope {
  if (records.length === 0) throw new Error('an envelope needs at least one record');
  const unsigned = {
    v: ENVELOPE_VERSION,
    gatewayId,
    stream,
    firstSeq: records[0].seq,
    lastSeq: records[records.length - 1].seq,
    sentAt,
    records,
  };
  return { ...unsigned, sig: signCanonical(unsigned, secretKey) } as Envelope;
}

export function encodeEnvelope(envelope: Envelope): Buffer {
  return Buffer.from(JSON.stringify(envelope));
}

export type EnvelopeError =
  | { code: 'malformed-json'; message: string }
  | { code: 'invalid-envelope'; message: string }
  | { code: 'seq-order'; message: string }
  | { code: 'topic-mismatch'; message: string }
  | { code: 'unknown-gateway'; message: string }
  | { code: 'bad-signature'; message: string };

export type DecodeResult = { ok: true; envelope: Envelope } | { ok: false; error: EnvelopeError };

/**
 * Parses and checks an envelope received on `up/{stream}` of `topicGatewayId`. The signature is
 * checked with the public key registered for the envelope's gateway (`publicKeyOf` returns
 * undefined for a gateway the cloud does not know).
 */
export function openEnvelope(
  payload: Buffer | string,
  expected: { gatewayId: string; stream: Stream },
  publicKeyOf: (gatewayId: string) => string | undefined,
): DecodeResult {
  let json: unknown;
  try {
    json = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
  } catch (e) {
    return { ok: false, error: { code: 'malformed-json', message: (e as Error).message } };
  }
  const parsed = Envelope.safeParse(json);
  if (!parsed.success) {
    return {
      ok: false,
      error: { code: 'invalid-envelope', message: z.prettifyError(parsed.error) },
    };
  }
  const env = parsed.data;
  if (env.gatewayId !== expected.gatewayId || env.stream !== expected.stream) {
    return {
      ok: false,
      error: {
        code: 'topic-mismatch',
        message: `envelope says ${env.gatewayId}/${env.stream}, topic is ${expected.gatewayId}/${expected.stream}`,
      },
    };
  }
  const seqError = checkSeqOrder(env);
  if (seqError) return { ok: false, error: { code: 'seq-order', message: seqError } };
  const publicKey = publicKeyOf(env.gatewayId);
  if (!publicKey) {
    return {
      ok: false,
      error: { code: 'unknown-gateway', message: `no key registered for ${env.gatewayId}` },
    };
  }
  const { sig, ...unsigned } = json as Record<string, unknown>;
  if (!verifyCanonical(unsigned, sig as string, publicKey)) {
    return { ok: false, error: { code: 'bad-signature', message: 'signature does not verify' } };
  }
  return { ok: true, envelope: env };
}

function checkSeqOrder(env: Envelope): string | null {
  const recs = env.records;
  if (recs[0].seq !== env.firstSeq) return `firstSeq ${env.firstSeq} ≠ first record ${recs[0].seq}`;
  if (recs[recs.length - 1].seq !== env.lastSeq)
    return `lastSeq ${env.lastSeq} ≠ last record ${recs[recs.length - 1].seq}`;
  for (let i = 1; i < recs.length; i++) {
    if (recs[i].seq <= recs[i - 1].seq) return `seq not increasing at record ${i}`;
  }
  return null;
}
