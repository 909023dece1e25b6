import { Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { OnMessageMetadata } from './on-message.decorator.js';
import { ON_MESSAGE_METADATA } from './on-message.constants.js';

/** Reads what `@OnMessage` recorded on a method. */
@Injectable()
export class OnMessageMetadataAccessor {
  constructor(private readonly reflector: Reflector) {}

  getOnMessageMetadata(method: unknown): OnMessageMetadata[] {
    if (typeof method !== 'function') return [];
    return this.reflector.get<OnMessageMetadata[] | undefined>(ON_MESSAGE_METADATA, method) ?? [];
  }
}
