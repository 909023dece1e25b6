import { get, type IncomingMessage } from 'node:http';

/**
 * An SSE client that stops reading as soon as the response headers arrive (the client whose socket
 * buffer fills up), until `resume()`; from then on it collects the `n` of every event's JSON data.
 */
export class PausedSseClient {
  readonly received: number[] = [];
  private text = '';
  private waiters: (() => void)[] = [];

  private constructor(private readonly response: IncomingMessage) {
    response.pause();
  }

  static open(url: string): Promise<PausedSseClient> {
    return new Promise((resolve, reject) => {
      get(url, (response) => {
        if (response.statusCode !== 200) reject(new Error(`stream answered ${response.statusCode}`));
        resolve(new PausedSseClient(response));
      }).on('error', reject);
    });
  }

  resume(): void {
    this.response.setEncoding('utf8');
    this.response.on('data', (chunk: string) => this.receive(chunk));
    this.response.resume();
  }

  /** Resolves once the event with data `n` === `last` has arrived. */
  async waitFor(last: number): Promise<void> {
    while (this.received.at(-1) !== last) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  close(): void {
    this.response.destroy();
  }

  private receive(chunk: string): void {
    this.text += chunk;
    let end: number;
    while ((end = this.text.indexOf('\n\n')) !== -1) {
      const block = this.text.slice(0, end);
      this.text = this.text.slice(end + 2);
      const data = block.split('\n').find((line) => line.startsWith('data: '));
      if (data !== undefined) this.received.push((JSON.parse(data.slice(6)) as { n: number }).n);
    }
    for (const wake of this.waiters.splice(0)) wake();
  }
}
