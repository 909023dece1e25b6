import {
  EricSseException,
  InvalidChannelException,
  InvalidConfigurationException,
  InvalidListenerException,
  InvalidMessageFormat,
  ItemNotFound,
  LimitExceededException,
  MessageTooLargeException,
  NoMessagesException,
  QueueFullException,
  RepositoryError,
  TooManyChannelsException,
  TooManyListenersException,
} from '../../core/errors.js';
import { parsePythonStringLiteral, pythonStringRepr } from './python-repr.js';

/** An error as the server answers it: Python's `repr(exception)`, e.g. `InvalidChannelException('No channel with id 2')`. */
export function formatErrorAnswer(error: unknown): string {
  if (!(error instanceof Error)) return `Exception(${pythonStringRepr(String(error))})`;
  const name = /^[A-Za-z_][A-Za-z0-9_]*$/.test(error.name) ? error.name : 'Exception';
  return error.message === '' ? `${name}()` : `${name}(${pythonStringRepr(error.message)})`;
}

export interface ErrorAnswer {
  /** The error's class name, as the server wrote it. */
  name: string;
  message: string;
}

const ERROR_ANSWER = /^([A-Za-z_][A-Za-z0-9_]*)\(([\s\S]*)\)$/;

/** Reads an error answer back; undefined when `answer` is not one (an id, `ack`, a stream line...). */
export function parseErrorAnswer(answer: string): ErrorAnswer | undefined {
  const match = ERROR_ANSWER.exec(answer);
  if (match === null) return undefined;
  const [, name, argument] = match as unknown as [string, string, string];
  if (argument === '') return { name, message: '' };
  const message = parsePythonStringLiteral(argument);
  return message === undefined ? undefined : { name, message };
}

const KNOWN_ERRORS: Record<string, new (message?: string) => EricSseException> = {
  EricSseException,
  InvalidChannelException,
  InvalidListenerException,
  NoMessagesException,
  InvalidMessageFormat,
  RepositoryError,
  ItemNotFound,
  InvalidConfigurationException,
  LimitExceededException,
  QueueFullException,
  TooManyListenersException,
  TooManyChannelsException,
  MessageTooLargeException,
};

/**
 * The error an error answer stands for: an instance of this library's class of that name when there is
 * one, else an `Error` whose `name` is the server's class name. Undefined when `answer` is no error.
 */
export function errorFromAnswer(answer: string): Error | undefined {
  const parsed = parseErrorAnswer(answer);
  if (parsed === undefined) return undefined;
  const Known = Object.hasOwn(KNOWN_ERRORS, parsed.name) ? KNOWN_ERRORS[parsed.name] : undefined;
  if (Known !== undefined) return new Known(parsed.message);
  const error = new Error(parsed.message);
  error.name = parsed.name;
  return error;
}
