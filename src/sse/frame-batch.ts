import type { SseEventId } from './listener-pump.js';

const CR = 0x0d;
const LF = 0x0a;

/**
 * Assembles a batch of events into one buffer: per event its `id:` line (numbered per listener) and its
 * body (shared by every listener that streams it), framed as HTTP/1.1 chunks when `chunked`. The id and
 * chunk size lines are written byte by byte, without making a string per event.
 */
export class FrameBatch {
  private readonly bodies: Buffer[] = [];
  private readonly ids: (SseEventId | undefined)[] = [];
  private count = 0;
  private size = 0;

  constructor(private readonly chunked: boolean) {}

  get isEmpty(): boolean {
    return this.count === 0;
  }

  add(body: Buffer, id: SseEventId | undefined): void {
    const payload = idLineLength(id) + body.length;
    this.size += this.chunked ? hexDigits(payload) + payload + 4 : payload;
    this.bodies[this.count] = body;
    this.ids[this.count] = id;
    this.count++;
  }

  /** The batch as one buffer, and a fresh batch; undefined when nothing was added. */
  take(): Buffer | undefined {
    const { count, bodies, ids } = this;
    if (count === 0) return undefined;
    const out = Buffer.allocUnsafe(this.size);
    let at = 0;
    for (let i = 0; i < count; i++) {
      const body = bodies[i];
      const id = ids[i];
      if (this.chunked) {
        at = writeHex(out, at, idLineLength(id) + body.length);
        out[at++] = CR;
        out[at++] = LF;
      }
      if (id !== undefined) {
        out[at] = 0x69; // 'i'
        out[at + 1] = 0x64; // 'd'
        out[at + 2] = 0x3a; // ':'
        out[at + 3] = 0x20; // ' '
        at += 4;
        if (id !== '') at = writeDecimal(out, at, id);
        out[at++] = LF;
      }
      out.set(body, at);
      at += body.length;
      if (this.chunked) {
        out[at++] = CR;
        out[at++] = LF;
      }
    }
    this.count = 0;
    this.size = 0;
    return out;
  }
}

function idLineLength(id: SseEventId | undefined): number {
  if (id === undefined) return 0;
  return id === '' ? 5 : 5 + decimalDigits(id);
}

function decimalDigits(n: number): number {
  let digits = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    digits++;
  }
  return digits;
}

function hexDigits(n: number): number {
  let digits = 1;
  while (n >= 16) {
    n = Math.floor(n / 16);
    digits++;
  }
  return digits;
}

function writeDecimal(out: Buffer, at: number, n: number): number {
  const end = at + decimalDigits(n);
  let i = end;
  do {
    out[--i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  } while (n > 0);
  return end;
}

function writeHex(out: Buffer, at: number, n: number): number {
  const end = at + hexDigits(n);
  let i = end;
  do {
    const digit = n % 16;
    out[--i] = digit < 10 ? 0x30 + digit : 0x57 + digit;
    n = Math.floor(n / 16);
  } while (n > 0);
  return end;
}
