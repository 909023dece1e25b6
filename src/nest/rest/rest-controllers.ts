import type { Type } from '@nestjs/common';
import type { ResolvedEricSseOptions } from '../eric-sse-module-options.js';
import { createRestController } from './eric-sse-rest.controller.js';

/**
 * The controllers `EricSseModule` mounts for `options.rest` (none when it is `false`). Called when the
 * dynamic module is built, so it only sees the structural options (`rest`, `global`).
 */
export function restControllers(options: Pick<ResolvedEricSseOptions, 'rest' | 'global'>): Type[] {
  return options.rest === false ? [] : [createRestController(options.rest)];
}
