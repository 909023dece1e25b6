import type { ChannelData } from '../core/channel.js';
import { SSEChannel } from '../prefabs/sse-channel.js';
import { AbstractChannelRepository } from './channel-repository.js';
import { isNonEmptyString, isRecord, malformed } from './record-guards.js';

/** Persists `SSEChannel`s: `{ channelId, streamDelaySeconds, retryTimeoutMilliseconds }`. */
export class SSEChannelRepository extends AbstractChannelRepository<SSEChannel> {
  /** Missing delays take their defaults; anything else malformed is a `RepositoryError`. */
  create(channelData: ChannelData): SSEChannel {
    if (!isRecord(channelData)) throw malformed('channel', channelData, 'not an object');
    const { channelId, streamDelaySeconds, retryTimeoutMilliseconds } = channelData;
    if (!isNonEmptyString(channelId)) throw malformed('channel', channelData, 'channelId must be a non-empty string');
    try {
      return new SSEChannel({
        channelId,
        streamDelaySeconds: streamDelaySeconds as number | undefined,
        retryTimeoutMilliseconds: retryTimeoutMilliseconds as number | undefined,
        connectionsFactory: this.connectionsFactory,
      });
    } catch (error) {
      throw malformed('channel', channelData, (error as Error).message);
    }
  }
}
