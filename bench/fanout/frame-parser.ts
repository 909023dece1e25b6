/**
 * Just enough of an SSE parser for the load generator: splits a client's byte stream into frames at blank
 * lines and reads `seq` and `sentAt` from the frames that carry a payload. Comments, `retry:`-only frames
 * and the blank line some servers send first carry no `"seq":` and are skipped. Every server under test
 * ends lines with `\n`, and payload JSON has no newline, so nothing more is needed.
 */
export type OnPayloadEvent = (seq: number, sentAt: number) => void;

const SEQ = '"seq":';
const SENT_AT = '"sentAt":';
/** More characters than any timestamp of `now()` takes. */
const NUMBER_WIDTH = 32;

export class FrameParser {
  private pending = '';

  constructor(private readonly onEvent: OnPayloadEvent) {}

  feed(chunk: Buffer): void {
    // Payloads are ASCII: latin1 is the cheapest exact decoding.
    const text = this.pending.length === 0 ? chunk.toString('latin1') : this.pending + chunk.toString('latin1');
    let start = 0;
    for (;;) {
      const end = text.indexOf('\n\n', start);
      if (end < 0) break;
      this.frame(text, start, end);
      start = end + 2;
    }
    this.pending = start === text.length ? '' : text.slice(start);
  }

  private frame(text: string, start: number, end: number): void {
    const seqAt = text.indexOf(SEQ, start);
    if (seqAt < 0 || seqAt > end) return;
    const sentAtAt = text.indexOf(SENT_AT, seqAt);
    if (sentAtAt < 0 || sentAtAt > end) return;
    const sentAtStart = sentAtAt + SENT_AT.length;
    this.onEvent(
      parseInt(text.slice(seqAt + SEQ.length, sentAtAt), 10),
      parseFloat(text.slice(sentAtStart, Math.min(end, sentAtStart + NUMBER_WIDTH))),
    );
  }
}
