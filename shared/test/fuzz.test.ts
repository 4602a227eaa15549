// Property-based fuzzing of every parser that takes bytes from a device or the network. The unit
// run uses a few hundred cases per property; `npm run fuzz` runs FUZZ_RUNS (20,000) per property.
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  buildOru,
  decodeRegister,
  encodeRegister,
  extractObservations,
  formatOximeterLine,
  frameMllp,
  generateSigningKeyPair,
  Hl7ParseError,
  initCrypto,
  MllpDecoder,
  OximeterLineSplitter,
  openEnvelope,
  parametersOf,
  parseHl7,
  parseOximeterLine,
  RegisterDef,
  sealEnvelope,
} from '../src/index.ts';

const numRuns = Number(process.env.FUZZ_RUNS ?? 300);
await initCrypto();
const keys = generateSigningKeyPair();

/** Cuts a buffer at arbitrary points, as TCP may deliver it. */
const chunked = (bytes: Buffer, cuts: number[]) => {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let last = 0;
  for (const p of points) {
    out.push(bytes.subarray(last, p));
    last = p;
  }
  out.push(bytes.subarray(last));
  return out;
};

test('HL7 parser: arbitrary text either parses or throws Hl7ParseError, nothing else', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string(),
        fc.string().map((s) => `MSH|^~\\&|${s}`),
      ),
      (text) => {
        try {
          parseHl7(text);
        } catch (error) {
          assert.instance(error, Hl7ParseError);
        }
      },
    ),
    { numRuns },
  );
});

test('PCD-01: any values round-trip through ORU^R01 text and the MLLP framer in any chunking', () => {
  const monitor = parametersOf('monitor').map((t) => t.mdc);
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(fc.constantFrom(...monitor), fc.double({ min: -1e6, max: 1e6, noNaN: true })),
        {
          minLength: 1,
          maxLength: 9,
        },
      ),
      fc.string({ maxLength: 20 }).filter((s) => /^[A-Za-z0-9-]*$/.test(s)),
      fc.array(fc.nat(), { maxLength: 8 }),
      (observations, suffix, cuts) => {
        const text = buildOru({
          controlId: `C${suffix}`,
          sendingApp: `dev-${suffix}`,
          bedId: 'bed-1',
          time: 1_800_000_000_000,
          observations: observations.map(([parameter, value]) => ({ parameter, value })),
        });
        const frames = Buffer.concat([frameMllp(text), frameMllp(text)]);
        const decoder = new MllpDecoder();
        const got = chunked(frames, cuts).flatMap((c) => decoder.push(c));
        assert.equal(
          got.map((e) => e.kind),
          ['frame', 'frame'],
        );
        const extracted = extractObservations(parseHl7((got[0] as { text: string }).text));
        assert.equal(extracted.problems, []);
        assert.equal(
          extracted.observations.map((o) => o.parameter),
          observations.map(([p]) => p),
        );
        // Exact, except beyond HL7 NM's 10 decimals (smaller than any device resolves).
        extracted.observations.forEach((o, i) => {
          const sent = observations[i][1];
          assert.ok(Math.abs(o.value - sent) <= 1e-10, `${o.value} vs ${sent}`);
        });
      },
    ),
    { numRuns },
  );
});

test('MLLP decoder: arbitrary bytes never throw and never yield a frame with control bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const decoder = new MllpDecoder({ maxFrameBytes: 128 });
      for (const event of decoder.push(Buffer.from(bytes)))
        if (event.kind === 'frame') assert.not.match(event.text, /[\x0b\x1c]/);
    }),
    { numRuns },
  );
});

test('oximeter lines: formatted values parse back; any text parses or gives an error, never throws', () => {
  fc.assert(
    fc.property(
      fc.option(fc.integer({ min: 0, max: 100 })),
      fc.option(fc.integer({ min: 0, max: 300 })),
      fc.option(fc.integer({ min: 0, max: 9999 }).map((n) => n / 100)),
      fc.integer({ min: 946_684_800, max: 4_102_444_799 }).map((s) => s * 1000),
      (spo2, pulseRate, perfusionIndex, time) => {
        const line = formatOximeterLine({ time, serial: 1234, spo2, pulseRate, perfusionIndex });
        const parsed = parseOximeterLine(line.trim());
        assert.ok(parsed.ok, line);
        if (!parsed.ok) return;
        assert.equal(
          [parsed.spo2, parsed.pulseRate, parsed.perfusionIndex, parsed.time],
          [spo2, pulseRate, perfusionIndex, time],
        );
      },
    ),
    { numRuns },
  );
  fc.assert(
    fc.property(fc.string(), (text) => {
      const parsed = parseOximeterLine(text);
      assert.type(parsed.ok, 'boolean');
    }),
    { numRuns },
  );
});

test('oximeter splitter: lines come out the same however the stream is chunked', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.string({ minLength: 1, maxLength: 40 }).filter((s) => /^[ -~]+$/.test(s)),
        { maxLength: 6 },
      ),
      fc.constantFrom('\r\n', '\n', '\r'),
      fc.array(fc.nat(), { maxLength: 10 }),
      (lines, ending, cuts) => {
        const bytes = Buffer.from(lines.map((l) => l + ending).join(''), 'latin1');
        const splitter = new OximeterLineSplitter();
        const got = chunked(bytes, cuts).flatMap((c) => splitter.push(c));
        assert.equal(got, lines);
      },
    ),
    { numRuns },
  );
});

test('Modbus registers: every type and word order round-trips through encode and decode', () => {
  const types = ['uint16', 'int16', 'uint32', 'int32', 'float32'] as const;
  const ranges = {
    uint16: [0, 65535],
    int16: [-32768, 32767],
    uint32: [0, 4294967295],
    int32: [-2147483648, 2147483647],
  } as const;
  fc.assert(
    fc.property(
      fc.constantFrom(...types),
      fc.constantFrom('big', 'little'),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (type, order, at) => {
        const reg = RegisterDef.parse({
          name: 'x',
          parameter: 'MDC_VOL_FLUID_DELIV',
          table: 'input',
          address: 0,
          type,
          scale: 1,
          unit: 'mL',
        });
        const raw =
          type === 'float32'
            ? Math.fround((at - 0.5) * 1e6)
            : Math.round(ranges[type][0] + at * (ranges[type][1] - ranges[type][0]));
        // float32 decodes to its 7 significant digits (the binary noise beyond them is dropped).
        const expected = type === 'float32' ? Number(raw.toPrecision(7)) : raw;
        assert.is(decodeRegister(reg, encodeRegister(reg, raw, order), order), expected);
      },
    ),
    { numRuns },
  );
});

test('envelopes: arbitrary payloads and tampered signed envelopes are refused, never thrown', () => {
  const records = [
    {
      seq: 1,
      deviceId: 'd',
      bedId: 'b',
      parameter: 'MDC_ECG_HEART_RATE',
      value: 70,
      unit: '/min',
      deviceTime: 1,
      gatewayTime: 1,
      quality: 'valid' as const,
    },
  ];
  const good = JSON.stringify(sealEnvelope('gw', 'readings', records, keys.secretKey));
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string(),
        fc
          .nat({ max: good.length - 1 })
          .chain((i) =>
            fc
              .string({ minLength: 1, maxLength: 1 })
              .map((c) => good.slice(0, i) + c + good.slice(i + 1)),
          ),
      ),
      (payload) => {
        const result = openEnvelope(
          payload,
          { gatewayId: 'gw', stream: 'readings' },
          () => keys.publicKey,
        );
        if (result.ok)
          assert.is(
            JSON.stringify(JSON.parse(payload)),
            JSON.stringify(JSON.parse(good)),
            'only the genuine envelope (perhaps reformatted) opens',
          );
      },
    ),
    { numRuns },
  );
});

test.run();
