import type { AbstractChannel, ChannelData } from '../core/channel.js';
import type { ConnectionsFactory } from '../core/connection.js';
import type { KvStorage } from './kv-storage.js';
import { isRecord, malformed } from './record-guards.js';
import type { ChannelRepository, ConnectionRepositoryContract } from './repositories.js';

/**
 * Stores each channel's `toData()` under its id and its connections in the connections repository.
 * Subclasses say, through `create`, how stored settings become a channel.
 */
export abstract class AbstractChannelRepository<
  C extends AbstractChannel = AbstractChannel,
> implements ChannelRepository<C> {
  constructor(
    private readonly storage: KvStorage,
    readonly connectionsRepository: ConnectionRepositoryContract,
    readonly connectionsFactory: ConnectionsFactory,
  ) {}

  /** Builds a channel from stored settings, with this repository's connections factory. */
  abstract create(channelData: ChannelData): C;

  async loadAll(): Promise<C[]> {
    const records = await this.storage.fetchAll();
    return Promise.all(records.map((record) => this.restore(record)));
  }

  async loadOne(id: string): Promise<C> {
    return this.restore(await this.storage.fetchOne(id), id);
  }

  /**
   * Writes the connections first and the channel record after them, then removes the connections the
   * channel no longer has: a failure part way never leaves a channel record naming unwritten connections.
   */
  async persist(channel: C): Promise<void> {
    const storedIds = await this.storedConnectionIds(channel.id);
    const connections = channel.getConnections();
    for (const connection of connections) await this.connectionsRepository.persist(channel.id, connection);
    await this.storage.upsert(channel.id, channel.toData());
    const currentIds = new Set(connections.map((connection) => connection.id));
    for (const id of storedIds) {
      if (!currentIds.has(id)) await this.connectionsRepository.delete(channel.id, id);
    }
  }

  async delete(id: string): Promise<void> {
    const storedIds = await this.storedConnectionIds(id);
    await this.storage.delete(id);
    for (const connectionId of storedIds) await this.connectionsRepository.delete(id, connectionId);
  }

  private async restore(record: unknown, expectedId?: string): Promise<C> {
    if (!isRecord(record)) throw malformed('channel', record, 'not an object');
    const channel = this.create(record as ChannelData);
    if (expectedId !== undefined && channel.id !== expectedId) {
      throw malformed('channel', record, `stored under id ${expectedId}`);
    }
    for (const connection of await this.connectionsRepository.loadAll(channel.id)) {
      await channel.registerConnection(connection);
    }
    return channel;
  }

  private async storedConnectionIds(channelId: string): Promise<string[]> {
    if (this.connectionsRepository.loadIds !== undefined) return this.connectionsRepository.loadIds(channelId);
    const connections = await this.connectionsRepository.loadAll(channelId);
    return connections.map((connection) => connection.id);
  }
}
