import 'reflect-metadata';
import { ON_MESSAGE_METADATA } from './on-message.constants.js';

export interface OnMessageOptions {
  /** The channel the provider's listener joins. Default: the module's `onMessageChannel` (`'eric'`). */
  channel?: string;
  /** The provider's listener id. Default: the provider's class name. */
  listenerId?: string;
}

export interface OnMessageMetadata {
  type: string;
  options: OnMessageOptions;
}

/**
 * Makes the method the action of its provider's listener for messages of `type`. Each provider
 * instance with such methods gets one `SimpleDistributedApplicationListener`; what a method returns
 * (an array of messages, or nothing) is sent back to the message's sender. All `@OnMessage` of one
 * class must agree on `channel` and `listenerId`. Checked at bootstrap.
 */
export function OnMessage(type: string, options: OnMessageOptions = {}): MethodDecorator {
  return (_target, _key, descriptor) => {
    const method = descriptor.value as object;
    const existing = (Reflect.getMetadata(ON_MESSAGE_METADATA, method) as OnMessageMetadata[] | undefined) ?? [];
    Reflect.defineMetadata(ON_MESSAGE_METADATA, [...existing, { type, options }], method);
    return descriptor;
  };
}
