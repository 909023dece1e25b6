import { InvalidConfigurationException } from '../../core/errors.js';
import { RESERVED_ACTIONS } from '../../prefabs/simple-distributed-application.js';
import type { OnMessageMetadata } from './on-message.decorator.js';

/** A provider instance with at least one `@OnMessage` method, as discovered. */
export interface OnMessageHost {
  instance: object;
  className: string;
  methods: { methodKey: string; metadata: OnMessageMetadata[] }[];
}

/** What to register for one provider instance: its listener's id, channel and actions. */
export interface OnMessageListenerPlan {
  listenerId: string;
  channelId: string;
  className: string;
  instance: object;
  /** Message type → method name. */
  actions: Map<string, string>;
}

/**
 * Checks every `@OnMessage` of every host and plans one listener per host. Throws
 * `InvalidConfigurationException` naming class and method on the first problem, before anything is
 * registered.
 */
export function planOnMessageListeners(hosts: OnMessageHost[], defaultChannelId: string): OnMessageListenerPlan[] {
  const plans = hosts.map((host) => planHost(host, defaultChannelId));
  const claimedBy = new Map<string, OnMessageListenerPlan>();
  for (const plan of plans) {
    const other = claimedBy.get(plan.listenerId);
    if (other !== undefined) {
      throw new InvalidConfigurationException(
        `Listener id '${plan.listenerId}' is claimed by both ${describeHost(other)} and ${describeHost(plan)}; ` +
          `give one of them another @OnMessage listenerId`,
      );
    }
    claimedBy.set(plan.listenerId, plan);
  }
  return plans;
}

function planHost(host: OnMessageHost, defaultChannelId: string): OnMessageListenerPlan {
  const actions = new Map<string, string>();
  const listenerId = new AgreedSetting(host.className, 'listenerId');
  const channelId = new AgreedSetting(host.className, 'channel');
  for (const { methodKey, metadata } of host.methods) {
    const where = `${host.className}.${methodKey}`;
    for (const { type, options } of metadata) {
      if (typeof type !== 'string' || type === '') {
        throw new InvalidConfigurationException(
          `@OnMessage on ${where}: the message type must be a non-empty string, got ${JSON.stringify(type)}`,
        );
      }
      if (RESERVED_ACTIONS.includes(type)) {
        throw new InvalidConfigurationException(
          `@OnMessage('${type}') on ${where}: '${type}' is reserved (${RESERVED_ACTIONS.join(', ')}); ` +
            `a message of that type starts or stops the listener`,
        );
      }
      const taken = actions.get(type);
      if (taken !== undefined) {
        throw new InvalidConfigurationException(
          `@OnMessage('${type}') on ${where} duplicates ${host.className}.${taken}: one class has one action per type`,
        );
      }
      actions.set(type, methodKey);
      listenerId.offer(options?.listenerId, methodKey);
      channelId.offer(options?.channel, methodKey);
    }
  }
  return {
    listenerId: listenerId.value ?? host.className,
    channelId: channelId.value ?? defaultChannelId,
    className: host.className,
    instance: host.instance,
    actions,
  };
}

function describeHost(plan: OnMessageListenerPlan): string {
  return `${plan.className} (${[...plan.actions.values()].map((method) => `${plan.className}.${method}`).join(', ')})`;
}

/** A per-class setting that every `@OnMessage` of the class either leaves out or sets to the same value. */
class AgreedSetting {
  value: string | undefined;
  private setBy: string | undefined;

  constructor(
    private readonly className: string,
    private readonly name: string,
  ) {}

  offer(value: unknown, methodKey: string): void {
    if (value === undefined) return;
    const where = `${this.className}.${methodKey}`;
    if (typeof value !== 'string' || value === '') {
      throw new InvalidConfigurationException(
        `@OnMessage on ${where}: ${this.name} must be a non-empty string, got ${JSON.stringify(value)}`,
      );
    }
    if (this.value !== undefined && this.value !== value) {
      throw new InvalidConfigurationException(
        `@OnMessage on ${where} sets ${this.name} '${value}' but ${this.className}.${this.setBy} sets '${this.value}': ` +
          `one class is one listener`,
      );
    }
    this.value = value;
    this.setBy = methodKey;
  }
}
