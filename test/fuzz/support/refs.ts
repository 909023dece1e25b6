import fc from 'fast-check';
import { MISSING_CHANNEL, type ChannelRef, type ListenerRef } from './channels-model.js';

/** Ids no command created: UUIDs, unicode, empty and blank strings, long strings. */
export const unknownId: fc.Arbitrary<string> = fc.oneof(
  fc.uuid(),
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.constantFrom('', ' ', 'null', 'None', '..', '\u0000', '%00', MISSING_CHANNEL),
  fc.string({ unit: 'grapheme-ascii', minLength: 200, maxLength: 2000 }),
);

/** Mostly the first two channels, which every run starts with (with listeners), else any. */
const knownIndex = fc.oneof({ weight: 3, arbitrary: fc.nat(1) }, { weight: 1, arbitrary: fc.nat(7) });

export const channelRef: fc.Arbitrary<ChannelRef> = fc.oneof(
  { weight: 6, arbitrary: knownIndex.map((known) => ({ known })) },
  { weight: 1, arbitrary: unknownId.map((unknown) => ({ unknown })) },
);

export const listenerRef: fc.Arbitrary<ListenerRef> = fc.oneof(
  { weight: 6, arbitrary: fc.nat(7).map((known) => ({ known })) },
  { weight: 1, arbitrary: fc.nat(7).map((foreign) => ({ foreign })) },
  { weight: 1, arbitrary: unknownId.map((unknown) => ({ unknown })) },
);
