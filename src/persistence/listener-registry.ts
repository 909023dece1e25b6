import { InvalidConfigurationException, RepositoryError } from '../core/errors.js';
import { MessageQueueListener } from '../core/listener.js';
import { assertNonEmptyString } from '../core/validate.js';
import { SimpleDistributedApplicationListener } from '../prefabs/simple-distributed-application.js';

/** Re-creates a listener of one class from its stored id. */
export type ListenerFactory = (id: string) => MessageQueueListener;

/** Any listener class, whatever its constructor takes. */
export type ListenerClass = abstract new (...args: never[]) => MessageQueueListener;

interface Registration {
  readonly typeName: string;
  readonly listenerClass: ListenerClass;
  readonly factory: ListenerFactory;
}

/**
 * Maps the type names stored with listeners to their classes and factories, so that listeners of
 * custom classes come back as the class they were. A class is matched exactly: a subclass of a
 * registered class needs its own registration.
 */
export class ListenerRegistry {
  private readonly byTypeName = new Map<string, Registration>();
  private readonly byClass = new Map<ListenerClass, Registration>();

  /**
   * Registers a class under a type name. The factory defaults to `new listenerClass(id)`, so a class
   * whose constructor takes something else must give one. Registering the same class under the same
   * name again replaces its factory (to restore listeners with their actions, say).
   */
  register(typeName: string, listenerClass: new (id?: string) => MessageQueueListener, factory?: ListenerFactory): this;
  register(typeName: string, listenerClass: ListenerClass, factory: ListenerFactory): this;
  register(typeName: string, listenerClass: ListenerClass, factory?: ListenerFactory): this {
    assertNonEmptyString(typeName, 'typeName');
    if (typeof listenerClass !== 'function') {
      throw new InvalidConfigurationException(`Listener class for '${typeName}' must be a class`);
    }
    if (factory !== undefined && typeof factory !== 'function') {
      throw new InvalidConfigurationException(`Listener factory for '${typeName}' must be a function`);
    }
    const byName = this.byTypeName.get(typeName);
    if (byName !== undefined && byName.listenerClass !== listenerClass) {
      throw new InvalidConfigurationException(
        `Type name '${typeName}' is already registered for class ${byName.listenerClass.name}`,
      );
    }
    const byClass = this.byClass.get(listenerClass);
    if (byClass !== undefined && byClass.typeName !== typeName) {
      throw new InvalidConfigurationException(
        `Class ${listenerClass.name} is already registered as '${byClass.typeName}'`,
      );
    }
    const construct = listenerClass as unknown as new (id: string) => MessageQueueListener;
    const registration: Registration = { typeName, listenerClass, factory: factory ?? ((id) => new construct(id)) };
    this.byTypeName.set(typeName, registration);
    this.byClass.set(listenerClass, registration);
    return this;
  }

  has(typeName: string): boolean {
    return this.byTypeName.has(typeName);
  }

  /** The type name a listener is stored under; a `RepositoryError` when its class is not registered. */
  typeNameOf(listener: MessageQueueListener): string {
    const listenerClass = (listener as object).constructor as ListenerClass;
    const registration = this.byClass.get(listenerClass);
    if (registration === undefined) {
      throw new RepositoryError(
        `Listener class ${listenerClass.name} is not registered: call listenerRegistry.register('${listenerClass.name}', ${listenerClass.name}) so that its listeners can be persisted`,
      );
    }
    return registration.typeName;
  }

  /** Re-creates a listener; a `RepositoryError` naming the type when it is unknown. */
  create(typeName: string, id: string): MessageQueueListener {
    const registration = this.byTypeName.get(typeName);
    if (registration === undefined) {
      throw new RepositoryError(`Unknown listener type '${typeName}': register it in the listener registry`);
    }
    const listener = registration.factory(id);
    if (!(listener instanceof registration.listenerClass) || listener.id !== id) {
      throw new RepositoryError(`The factory of listener type '${typeName}' must return a ${typeName} with id ${id}`);
    }
    return listener;
  }
}

/** A registry that knows the library's own listener classes. */
export function createDefaultListenerRegistry(): ListenerRegistry {
  return new ListenerRegistry()
    .register('MessageQueueListener', MessageQueueListener)
    .register('SimpleDistributedApplicationListener', SimpleDistributedApplicationListener);
}

/** The registry repositories use unless given one. Register custom listener classes here. */
export const defaultListenerRegistry: ListenerRegistry = createDefaultListenerRegistry();
