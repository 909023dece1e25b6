import { describe, expect, it } from '@jest/globals';
import {
  createDefaultListenerRegistry,
  defaultListenerRegistry,
  InvalidConfigurationException,
  ListenerRegistry,
  MessageQueueListener,
  RepositoryError,
  SimpleDistributedApplicationListener,
} from '../../src/index.js';

class ChatListener extends MessageQueueListener {}

class RoomListener extends MessageQueueListener {
  constructor(
    readonly room: string,
    id?: string,
  ) {
    super(id);
  }
}

describe('ListenerRegistry', () => {
  it('the default registry knows the library listener classes', () => {
    for (const registry of [defaultListenerRegistry, createDefaultListenerRegistry()]) {
      expect(registry.typeNameOf(new MessageQueueListener())).toBe('MessageQueueListener');
      expect(registry.typeNameOf(new SimpleDistributedApplicationListener())).toBe(
        'SimpleDistributedApplicationListener',
      );
      const plain = registry.create('MessageQueueListener', 'id-1');
      expect(plain.constructor).toBe(MessageQueueListener);
      expect(plain.id).toBe('id-1');
      const sda = registry.create('SimpleDistributedApplicationListener', 'id-2');
      expect(sda).toBeInstanceOf(SimpleDistributedApplicationListener);
      expect(sda.id).toBe('id-2');
    }
  });

  it('createDefaultListenerRegistry returns an independent registry', () => {
    const registry = createDefaultListenerRegistry();
    registry.register('ChatListener', ChatListener);
    expect(registry.has('ChatListener')).toBe(true);
    expect(defaultListenerRegistry.has('ChatListener')).toBe(false);
    expect(createDefaultListenerRegistry().has('ChatListener')).toBe(false);
  });

  it('registers a custom class, constructed with the id by default', () => {
    const registry = new ListenerRegistry().register('chat', ChatListener);
    expect(registry.typeNameOf(new ChatListener())).toBe('chat');
    const listener = registry.create('chat', 'c-1');
    expect(listener).toBeInstanceOf(ChatListener);
    expect(listener.id).toBe('c-1');
  });

  it('uses the given factory for a class whose constructor takes more than an id', () => {
    const registry = new ListenerRegistry().register('room', RoomListener, (id) => new RoomListener('lobby', id));
    const listener = registry.create('room', 'r-1') as RoomListener;
    expect(listener).toBeInstanceOf(RoomListener);
    expect(listener.room).toBe('lobby');
    expect(listener.id).toBe('r-1');
  });

  it('re-registering a class under its name replaces the factory', () => {
    const registry = createDefaultListenerRegistry();
    registry.register('SimpleDistributedApplicationListener', SimpleDistributedApplicationListener, (id) => {
      const listener = new SimpleDistributedApplicationListener(id);
      listener.setAction('ping', () => []);
      return listener;
    });
    const restored = registry.create(
      'SimpleDistributedApplicationListener',
      'x',
    ) as SimpleDistributedApplicationListener;
    expect(restored.hasAction('ping')).toBe(true);
  });

  it('typeNameOf an unregistered class is a RepositoryError telling to register it', () => {
    const registry = createDefaultListenerRegistry();
    expect(() => registry.typeNameOf(new ChatListener())).toThrow(RepositoryError);
    expect(() => registry.typeNameOf(new ChatListener())).toThrow(/ChatListener is not registered.*register\(/);
  });

  it('matches classes exactly: a subclass of a registered class is not registered', () => {
    class Sub extends SimpleDistributedApplicationListener {}
    expect(() => defaultListenerRegistry.typeNameOf(new Sub())).toThrow(/Sub is not registered/);
  });

  it('create with an unknown type name is a RepositoryError naming it', () => {
    const registry = createDefaultListenerRegistry();
    expect(() => registry.create('NoSuchListener', 'id')).toThrow(RepositoryError);
    expect(() => registry.create('NoSuchListener', 'id')).toThrow(/'NoSuchListener'/);
  });

  it('create rejects a factory that returns another class or another id', () => {
    const wrongClass = new ListenerRegistry().register(
      'room',
      RoomListener,
      (id) => new MessageQueueListener(id) as RoomListener,
    );
    expect(() => wrongClass.create('room', 'a')).toThrow(RepositoryError);
    const wrongId = new ListenerRegistry().register('chat', ChatListener, () => new ChatListener('other'));
    expect(() => wrongId.create('chat', 'a')).toThrow(/must return a chat with id a/);
  });

  it('rejects bad registrations with InvalidConfigurationException and keeps the registry unchanged', () => {
    const registry = new ListenerRegistry().register('chat', ChatListener);
    expect(() => registry.register('', ChatListener)).toThrow(InvalidConfigurationException);
    expect(() => registry.register('x', 'nope' as unknown as typeof ChatListener)).toThrow(/must be a class/);
    expect(() => registry.register('x', ChatListener, 3 as unknown as () => ChatListener)).toThrow(
      /must be a function/,
    );
    expect(() => registry.register('chat', RoomListener, (id) => new RoomListener('r', id))).toThrow(
      /'chat' is already registered for class ChatListener/,
    );
    expect(() => registry.register('chat2', ChatListener)).toThrow(/ChatListener is already registered as 'chat'/);
    expect(registry.has('x')).toBe(false);
    expect(registry.has('chat2')).toBe(false);
    expect(() => registry.typeNameOf(new RoomListener('r'))).toThrow(RepositoryError);
    expect(registry.typeNameOf(new ChatListener())).toBe('chat');
  });
});
