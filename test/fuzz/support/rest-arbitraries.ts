import fc from 'fast-check';
import type { ChannelsModel } from './channels-model.js';
import { abbreviate } from './deadline.js';
import { chosenChannelId, channelBody, messageBody, NO_BODY, validMessage } from './rest-bodies.js';
import {
  Broadcast,
  CreateChannel,
  Dispatch,
  ListChannels,
  ListListeners,
  RemoveChannel,
  RemoveListener,
  SendRaw,
  Stream,
  Subscribe,
  Watch,
  type RawRequest,
  type RestReal,
} from './rest-commands.js';
import { channelRef, listenerRef, unknownId } from './refs.js';

const restChannelRef = fc.oneof(
  { weight: 6, arbitrary: channelRef },
  { weight: 1, arbitrary: chosenChannelId.map((unknown) => ({ unknown })) },
);

/** One path segment as sent: malformed escapes, invalid UTF-8, dot segments, a real id, or an unknown one. */
type Segment = { raw: string } | { channel: number } | { listener: number };

const segment: fc.Arbitrary<Segment> = fc.oneof(
  fc
    .constantFrom(
      '%',
      '%zz',
      '%E0%A4%A',
      '%C0%AF',
      '%00',
      '%ff',
      '%2F',
      '%2e%2e',
      '..',
      '.',
      '',
      '%u0041',
      '%25',
      ';',
      '*',
    )
    .map((raw) => ({ raw })),
  fc.uint8Array({ minLength: 1, maxLength: 12 }).map((bytes) => ({
    raw: [...bytes].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join(''),
  })),
  unknownId.map((id) => ({ raw: encodeURIComponent(id) })),
  fc.nat(7).map((channel) => ({ channel })),
  fc.nat(7).map((listener) => ({ listener })),
);

function renderSegment(s: Segment, model: ChannelsModel): string {
  if ('raw' in s) return s.raw;
  const channelId = model.resolveChannel({ known: 'channel' in s ? s.channel : s.listener });
  return encodeURIComponent('channel' in s ? channelId : model.resolveListener(channelId, { known: s.listener }));
}

function describeSegment(s: Segment): string {
  if ('raw' in s) return abbreviate(s.raw, 20);
  return 'channel' in s ? `ch#${s.channel}` : `l#${s.listener}`;
}

const suffixes = [
  '',
  '/listeners',
  '/broadcast',
  '/watch',
  '/listeners/$',
  '/listeners/$/stream',
  '/listeners/$/messages',
  '/x/y',
];

export const rawRequest: fc.Arbitrary<RawRequest> = fc
  .record({
    method: fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'OPTIONS', 'HEAD'),
    prefix: fc.constantFrom('/channels/', '/channels//', '//channels/', '/CHANNELS/', '/channels/./'),
    channel: segment,
    suffix: fc.constantFrom(...suffixes),
    listener: segment,
    query: fc.constantFrom('', '?a=%', '?x=1&x=2', '?__proto__[a]=1', '?lastEventId=%zz', '#frag'),
  })
  .map(({ method, prefix, channel, suffix, listener, query }) => {
    const label = `${prefix}${describeSegment(channel)}${suffix.replace('$', describeSegment(listener))}${query}`;
    const raw: RawRequest = {
      label,
      method,
      path: (model) =>
        `${prefix}${renderSegment(channel, model)}${suffix.replace('$', renderSegment(listener, model))}${query}`,
    };
    return raw;
  });

/** Every REST command kind, weighted so that most runs build up channels and listeners worth hitting. */
export function restCommands(): fc.Arbitrary<fc.AsyncCommand<ChannelsModel, RestReal>>[] {
  return [
    fc.oneof(
      { weight: 3, arbitrary: channelBody.map((body) => new CreateChannel(body)) },
      { weight: 2, arbitrary: fc.constant(new ListChannels()) },
      {
        weight: 8,
        arbitrary: fc
          .tuple(
            restChannelRef,
            fc.oneof({ weight: 4, arbitrary: fc.constant(NO_BODY) }, { weight: 1, arbitrary: messageBody }),
          )
          .map(([c, body]) => new Subscribe(c, body)),
      },
      { weight: 3, arbitrary: restChannelRef.map((c) => new ListListeners(c)) },
      { weight: 8, arbitrary: fc.tuple(restChannelRef, messageBody).map(([c, body]) => new Broadcast(c, body)) },
      {
        weight: 8,
        arbitrary: fc.tuple(restChannelRef, listenerRef, messageBody).map(([c, l, body]) => new Dispatch(c, l, body)),
      },
      { weight: 3, arbitrary: fc.tuple(restChannelRef, listenerRef).map(([c, l]) => new RemoveListener(c, l)) },
      { weight: 1, arbitrary: restChannelRef.map((c) => new RemoveChannel(c)) },
      { weight: 8, arbitrary: fc.tuple(restChannelRef, listenerRef).map(([c, l]) => new Stream(c, l)) },
      { weight: 2, arbitrary: fc.tuple(restChannelRef, validMessage).map(([c, msg]) => new Watch(c, msg)) },
      { weight: 6, arbitrary: rawRequest.map((raw) => new SendRaw(raw)) },
    ),
  ];
}
