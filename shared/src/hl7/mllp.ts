/**
 * MLLP (Minimal Lower Layer Protocol) framing for HL7 v2 over TCP:
 * <VT 0x0B> message <FS 0x1C><CR 0x0D>.
 */

export const MLLP_START = 0x0b;
export const MLLP_END = 0x1c;
export const MLLP_CR = 0x0d;
const LF = 0x0a;

export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;

export function frameMllp(text: string): Buffer {
  const body = Buffer.from(text, 'utf8');
  const out = Buffer.allocUnsafe(body.length + 3);
  out[0] = MLLP_START;
  body.copy(out, 1);
  out[body.length + 1] = MLLP_END;
  out[body.length + 2] = MLLP_CR;
  return out;
}

export class MllpFramingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MllpFramingError';
  }
}

export type MllpEvent =
  | { kind: 'frame'; text: string }
  | { kind: 'error'; error: MllpFramingError };

type State = 'idle' | 'frame' | 'skipping';

/**
 * Reassembles MLLP frames from TCP chunks. push() returns, in stream order, every complete frame
 * and every framing error the chunk completed. Bytes outside a frame (other than CR/LF) are
 * reported once per run and skipped; an over-long frame is reported and dropped up to its end
 * block, and decoding resumes with the next start block.
 */
export class MllpDecoder {
  readonly maxFrameBytes: number;
  private state: State = 'idle';
  private parts: Buffer[] = [];
  private size = 0;
  private garbage = 0;

  constructor(options: { maxFrameBytes?: number } = {}) {
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  push(chunk: Buffer): MllpEvent[] {
    const events: MllpEvent[] = [];
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'idle') i = this.scanIdle(chunk, i, events);
      else if (this.state === 'frame') i = this.scanFrame(chunk, i, events);
      else i = this.scanSkipping(chunk, i);
    }
    this.flushGarbage(events);
    return events;
  }

  /** Bytes held for an unfinished frame (for tests and diagnostics). */
  get pendingBytes(): number {
    return this.size;
  }

  private scanIdle(chunk: Buffer, from: number, events: MllpEvent[]): number {
    for (let i = from; i < chunk.length; i++) {
      const byte = chunk[i];
      if (byte === MLLP_START) {
        this.flushGarbage(events);
        this.beginFrame();
        return i + 1;
      }
      if (byte !== MLLP_CR && byte !== LF) this.garbage++;
    }
    return chunk.length;
  }

  private scanFrame(chunk: Buffer, from: number, events: MllpEvent[]): number {
    const end = chunk.indexOf(MLLP_END, from);
    const stop = end < 0 ? chunk.length : end;
    const restart = chunk.indexOf(MLLP_START, from);
    if (restart >= 0 && restart < stop) {
      events.push({
        kind: 'error',
        error: new MllpFramingError(
          `MLLP frame interrupted by a new start block; ${this.size + restart - from} bytes discarded`,
        ),
      });
      this.beginFrame();
      return restart + 1;
    }
    if (this.size + (stop - from) > this.maxFrameBytes) {
      events.push({
        kind: 'error',
        error: new MllpFramingError(
          `MLLP frame longer than ${this.maxFrameBytes} bytes; dropped up to its end block`,
        ),
      });
      this.parts = [];
      this.size = 0;
      this.state = 'skipping';
      return from;
    }
    this.parts.push(chunk.subarray(from, stop));
    this.size += stop - from;
    if (end < 0) return chunk.length;
    events.push({ kind: 'frame', text: Buffer.concat(this.parts).toString('utf8') });
    this.parts = [];
    this.size = 0;
    this.state = 'idle';
    // The CR after FS belongs to the end block; scanIdle ignores it.
    return end + 1;
  }

  private scanSkipping(chunk: Buffer, from: number): number {
    for (let i = from; i < chunk.length; i++) {
      if (chunk[i] === MLLP_END) {
        this.state = 'idle';
        return i + 1;
      }
      if (chunk[i] === MLLP_START) {
        this.beginFrame();
        return i + 1;
      }
    }
    return chunk.length;
  }

  private beginFrame(): void {
    this.state = 'frame';
    this.parts = [];
    this.size = 0;
  }

  private flushGarbage(events: MllpEvent[]): void {
    if (this.garbage === 0) return;
    events.push({
      kind: 'error',
      error: new MllpFramingError(`${this.garbage} bytes outside an MLLP frame skipped`),
    });
    this.garbage = 0;
  }
}
