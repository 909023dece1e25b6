import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { AbstractChannel } from '../../core/channel.js';
import { SimpleDistributedApplicationListener, type Action } from '../../prefabs/simple-distributed-application.js';
import { ChannelContainer } from '../../servers/channel-container.js';
import { ERIC_SSE_BACKEND } from '../backend-token.js';
import { ERIC_SSE_OPTIONS } from '../constants.js';
import type { EricSseBackend } from '../create-backend.js';
import { openChannel } from '../create-channel-container.js';
import type { ResolvedEricSseOptions } from '../eric-sse-module-options.js';
import { OnMessageListeners } from './on-message-listeners.js';
import { OnMessageMetadataAccessor } from './on-message-metadata.accessor.js';
import { planOnMessageListeners, type OnMessageHost, type OnMessageListenerPlan } from './plan-on-message-listeners.js';

/**
 * Finds the `@OnMessage` methods of every provider and controller and gives each instance a running
 * listener. Runs in `onModuleInit`: every instance exists by then, and the listeners are ready before
 * any `onApplicationBootstrap` (and, the module being global by default, before other modules'
 * `onModuleInit`), so application code can start a conversation from those hooks.
 */
@Injectable()
export class OnMessageExplorer implements OnModuleInit {
  private readonly logger = new Logger('EricSse');

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly accessor: OnMessageMetadataAccessor,
    private readonly container: ChannelContainer,
    private readonly listeners: OnMessageListeners,
    @Inject(ERIC_SSE_OPTIONS) private readonly options: ResolvedEricSseOptions,
    @Inject(ERIC_SSE_BACKEND) private readonly backend: EricSseBackend,
  ) {}

  async onModuleInit(): Promise<void> {
    const plans = planOnMessageListeners(this.discoverHosts(), this.options.onMessageChannel);
    for (const plan of plans) await this.listeners.register(this.createListener(plan), await this.channelFor(plan));
  }

  private discoverHosts(): OnMessageHost[] {
    const seen = new Set<object>();
    const hosts: OnMessageHost[] = [];
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
      const instance: unknown = wrapper.instance;
      if (wrapper.isAlias || typeof instance !== 'object' || instance === null || seen.has(instance)) continue;
      seen.add(instance);
      const host = this.describeHost(instance);
      if (host === undefined) continue;
      if (!isApplicationWide(wrapper)) {
        // A listener lives as long as the application; these providers have no single instance to bind it to.
        this.logger.warn(
          `@OnMessage methods of ${host.className} are ignored: it is request-scoped or transient; ` +
            `make it a default-scoped (singleton) provider to give it a listener`,
        );
        continue;
      }
      hosts.push(host);
    }
    return hosts;
  }

  private describeHost(instance: object): OnMessageHost | undefined {
    const methods = this.scanner
      .getAllMethodNames(Object.getPrototypeOf(instance) as object | null)
      .map((methodKey) => ({
        methodKey,
        metadata: this.accessor.getOnMessageMetadata((instance as Record<string, unknown>)[methodKey]),
      }))
      .filter(({ metadata }) => metadata.length > 0);
    if (methods.length === 0) return undefined;
    return { instance, className: instance.constructor?.name || 'Object', methods };
  }

  /** The listener's channel: held, else stored (a shared backend), else made as a distributed-application channel. */
  private channelFor(plan: OnMessageListenerPlan): Promise<AbstractChannel> {
    return openChannel(this.container, this.backend, 'distributed-application', { id: plan.channelId });
  }

  private createListener(plan: OnMessageListenerPlan): SimpleDistributedApplicationListener {
    const listener = new SimpleDistributedApplicationListener(plan.listenerId);
    const instance = plan.instance as Record<string, (...args: unknown[]) => unknown>;
    for (const [type, methodKey] of plan.actions)
      listener.setAction(type, instance[methodKey].bind(instance) as Action);
    return listener;
  }
}

type InstanceWrapper = ReturnType<DiscoveryService['getProviders']>[number];

function isApplicationWide(wrapper: InstanceWrapper): boolean {
  return wrapper.isDependencyTreeStatic() && !wrapper.isTransient;
}
