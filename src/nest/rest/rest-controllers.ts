import type { Type } from '@nestjs/common';
import type { ResolvedEricSseOptions } from '../eric-sse-module-options.js';

/**
 * The controllers `EricSseModule` mounts for `options.rest` (none when it is `false`). Called when the
 * dynamic module is built, so it only sees the structural options (`rest`, `global`) for
 * `forRootAsync`; the controllers read the rest from `ERIC_SSE_OPTIONS` at run time.
 */
export function restControllers(_options: Pick<ResolvedEricSseOptions, 'rest' | 'global'>): Type[] {
  return [];
}
