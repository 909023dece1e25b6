import { Module, type DynamicModule, type ModuleMetadata, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { InvalidConfigurationException } from '../core/errors.js';
import { ERIC_SSE_OPTIONS } from './constants.js';
import type { EricSseModuleAsyncOptions, EricSseModuleOptions } from './eric-sse-module-options.js';
import { ERIC_SSE_EXPORTS, ERIC_SSE_PROVIDERS } from './eric-sse.providers.js';
import { resolveEricSseOptions, resolveModuleStructure, type EricSseModuleStructure } from './resolve-options.js';
import { restControllers } from './rest/rest-controllers.js';

/**
 * The eric-sse module: `ChannelContainer`, the connections factory and channel repository (under
 * `ERIC_SSE_CONNECTIONS_FACTORY` / `ERIC_SSE_CHANNEL_REPOSITORY`), `@OnMessage` listeners and
 * `EricSseMessenger`. Global unless `global: false`.
 *
 * `global` and `rest` are checked when `forRoot`/`forRootAsync` is called (they decide the module's
 * scope and routes); every other option when the application bootstraps. Either way a bad option
 * throws `InvalidConfigurationException` naming it.
 */
@Module({})
export class EricSseModule {
  static forRoot(options: EricSseModuleOptions = {}): DynamicModule {
    const structure = resolveModuleStructure(typeof options === 'object' && options !== null ? options : {});
    return build(structure, [], {
      provide: ERIC_SSE_OPTIONS,
      useFactory: () => resolveEricSseOptions(options, structure),
    });
  }

  static forRootAsync(options: EricSseModuleAsyncOptions): DynamicModule {
    if (typeof options?.useFactory !== 'function') {
      throw new InvalidConfigurationException('forRootAsync needs a useFactory function');
    }
    const structure = resolveModuleStructure(options);
    return build(structure, options.imports ?? [], {
      provide: ERIC_SSE_OPTIONS,
      inject: options.inject ?? [],
      useFactory: async (...args: unknown[]) =>
        resolveEricSseOptions(await options.useFactory(...args), structure, true),
    });
  }
}

function build(
  structure: EricSseModuleStructure,
  imports: NonNullable<ModuleMetadata['imports']>,
  optionsProvider: Provider,
): DynamicModule {
  return {
    module: EricSseModule,
    global: structure.global,
    imports: [DiscoveryModule, ...imports],
    controllers: restControllers(structure),
    providers: [optionsProvider, ...ERIC_SSE_PROVIDERS],
    exports: ERIC_SSE_EXPORTS,
  };
}
