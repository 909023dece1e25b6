import { EricSseException } from '../../core/errors.js';

/** A socket server is already listening on the path a server was asked to listen on. */
export class SocketPathInUseException extends EricSseException {
  readonly code = 'EADDRINUSE';
}
