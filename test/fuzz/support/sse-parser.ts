/** One event as an `EventSource` dispatches it. */
export interface ParsedSseEvent {
  type: string;
  data: string;
  id: string;
}

/**
 * The event-stream parsing of the WHATWG HTML spec ("Server-sent events", 9.2.6), fed text as it
 * arrives: lines end at CRLF, LF or CR; comments are skipped; a blank line dispatches the event
 * (none without data); `event` sets the type, default `message`. `retry` is read and ignored.
 */
export class SseParser {
  readonly events: ParsedSseEvent[] = [];
  /** How many comment lines (keep-alives) were seen. */
  comments = 0;
  private buffer = '';
  private data: string[] = [];
  private type = '';
  private lastId = '';
  private first = true;

  feed(text: string): void {
    this.buffer += this.first ? text.replace(/^\uFEFF/, '') : text;
    this.first = false;
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      // A CR at the very end may be the first half of a CRLF still on its way.
      if (match === null || (match[0] === '\r' && match.index === this.buffer.length - 1)) return;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      this.line(line);
    }
  }

  private line(line: string): void {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) {
      this.comments++;
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.type = value;
    else if (field === 'id' && !value.includes('\0')) this.lastId = value;
  }

  private dispatch(): void {
    if (this.data.length > 0) {
      this.events.push({ type: this.type === '' ? 'message' : this.type, data: this.data.join('\n'), id: this.lastId });
    }
    this.data = [];
    this.type = '';
  }
}
