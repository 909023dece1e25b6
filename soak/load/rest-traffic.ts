import { pick, Ticker, type Counters } from './counters.js';
import { rest } from './http.js';
import { SseClient } from './sse-client.js';
import type { SseChurn } from './sse-churn.js';

export interface RestTrafficOptions {
  port: number;
  base: string;
  channels: readonly string[];
  broadcastsPerSecond: number;
  dispatchesPerSecond: number;
  /** Temporary channels created, used and removed per second. */
  channelChurnPerSecond: number;
}

/**
 * Steady REST traffic: broadcasts to the stable channels, dispatches to listeners the SSE churn holds,
 * and short-lived channels (created, subscribed, broadcast to, streamed, removed while streamed).
 */
export function startRestTraffic(options: RestTrafficOptions, churn: SseChurn, counters: Counters): Ticker[] {
  const { port, base } = options;
  const fail = (error: unknown): void => counters.fail(`rest: ${String(error)}`);
  let seq = 0;
  const payload = (): unknown => ({ seq: ++seq, at: Date.now(), text: 'soak '.repeat(8) });

  const broadcast = async (): Promise<void> => {
    const channel = pick(options.channels) as string;
    counters.restCalls++;
    const answer = await rest(port, 'POST', `${base}/channels/${channel}/broadcast`, {
      type: 'tick',
      payload: payload(),
    });
    if (answer.status !== 202) return counters.fail(`broadcast: ${answer.status} ${JSON.stringify(answer.body)}`);
    counters.sent++;
    counters.queued += (answer.body as { listeners: number }).listeners;
  };

  const dispatch = async (): Promise<void> => {
    const target = pick([...churn.subscribed]);
    if (target === undefined) return;
    const [listenerId, channel] = target;
    counters.restCalls++;
    const path = `${base}/channels/${channel}/listeners/${listenerId}/messages`;
    const answer = await rest(port, 'POST', path, { type: 'direct', payload: payload() });
    if (answer.status === 404) {
      counters.races++; // deleted since it was picked
      return;
    }
    if (answer.status !== 202) return counters.fail(`dispatch: ${answer.status} ${JSON.stringify(answer.body)}`);
    counters.sent++;
    counters.queued++;
  };

  const channelLife = async (): Promise<void> => {
    counters.restCalls += 6;
    const created = await rest(port, 'POST', `${base}/channels`, {});
    if (created.status !== 201) return counters.fail(`create channel: ${created.status}`);
    const channel = (created.body as { id: string }).id;
    const listeners: string[] = [];
    for (let i = 0; i < 2; i++) {
      const answer = await rest(port, 'POST', `${base}/channels/${channel}/listeners`);
      if (answer.status !== 201) return counters.fail(`subscribe temp: ${answer.status}`);
      listeners.push((answer.body as { id: string }).id);
    }
    for (let i = 0; i < 2; i++) {
      const answer = await rest(port, 'POST', `${base}/channels/${channel}/broadcast`, { type: 'temp', payload: i });
      if (answer.status !== 202) return counters.fail(`broadcast temp: ${answer.status}`);
      counters.sent++;
      counters.queued += 2;
    }
    const client = await SseClient.open(port, `${base}/channels/${channel}/listeners/${listeners[0]}/stream`);
    counters.streamsOpened++;
    const removed = await rest(port, 'DELETE', `${base}/channels/${channel}`);
    if (removed.status !== 204) counters.fail(`remove temp channel: ${removed.status}`);
    // Removing the channel ends its streams.
    const ended = await Promise.race([client.ended.then(() => true), sleep(5000).then(() => false)]);
    if (!ended) counters.fail('a stream of a removed channel was not ended within 5 s');
    await client.close();
    counters.received += client.events;
  };

  return [
    new Ticker(1000 / options.broadcastsPerSecond, broadcast, fail),
    new Ticker(1000 / options.dispatchesPerSecond, dispatch, fail),
    new Ticker(1000 / options.channelChurnPerSecond, channelLife, fail, 2),
  ];
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
