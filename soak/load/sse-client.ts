import { request, type IncomingMessage } from 'node:http';

/**
 * One SSE connection, on its own socket: counts the events it receives (a frame ends with a blank
 * line) and knows when the server ended it.
 */
export class SseClient {
  events = 0;
  readonly ended: Promise<void>;
  comments = 0;
  private pending = '';

  private constructor(readonly response: IncomingMessage) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      const blocks = (this.pending + chunk).split('\n\n');
      this.pending = blocks.pop() as string;
      // Our frames never hold a blank line inside; a block starting with `:` is a keep-alive comment.
      for (const block of blocks) {
        if (block.startsWith(':')) this.comments++;
        else this.events++;
      }
    });
    response.on('error', () => {});
    this.ended = new Promise((resolve) => response.once('close', resolve));
  }

  /** Opens the stream; resolves once the headers arrived (a non-200 status is an error with its body). */
  static open(port: number, path: string): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, agent: false, headers: { accept: 'text/event-stream' } });
      req.setTimeout(10_000, () => req.destroy(new Error(`GET ${path}: no headers within 10 s`)));
      req.on('error', reject);
      req.on('response', (response) => {
        req.setTimeout(0);
        if (response.statusCode === 200) {
          resolve(new SseClient(response));
          return;
        }
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => reject(new SseRefused(response.statusCode ?? 0, text)));
      });
      req.end();
    });
  }

  close(): Promise<void> {
    this.response.destroy();
    return this.ended;
  }
}

export class SseRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`SSE refused: ${status} ${body.slice(0, 200)}`);
  }
}
