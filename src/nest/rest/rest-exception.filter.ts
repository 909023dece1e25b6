import { Catch, HttpException, HttpStatus, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { STATUS_CODES, type ServerResponse } from 'node:http';
import {
  InvalidChannelException,
  InvalidConfigurationException,
  InvalidListenerException,
  InvalidMessageFormat,
  LimitExceededException,
  MessageTooLargeException,
  RepositoryError,
  TooManyChannelsException,
  TooManyListenersException,
} from '../../core/errors.js';

/** The JSON body of every error the REST endpoints answer. */
export interface RestErrorBody {
  statusCode: number;
  /** The library error class (e.g. `InvalidChannelException`) when it is ours, else the HTTP reason phrase. */
  error: string;
  message: string;
}

/** Maps what a REST endpoint (or a guard before it) threw to the status and JSON body it answers with. */
export function restErrorBody(exception: unknown): RestErrorBody {
  if (exception instanceof InvalidChannelException || exception instanceof InvalidListenerException) {
    return { statusCode: HttpStatus.NOT_FOUND, error: exception.name, message: exception.message };
  }
  if (exception instanceof InvalidMessageFormat || exception instanceof InvalidConfigurationException) {
    return { statusCode: HttpStatus.BAD_REQUEST, error: exception.name, message: exception.message };
  }
  if (exception instanceof LimitExceededException) {
    return { statusCode: limitStatus(exception), error: exception.name, message: exception.message };
  }
  // The backend (Redis) cannot be reached, or refused: the request may succeed later.
  if (exception instanceof RepositoryError) {
    return { statusCode: HttpStatus.SERVICE_UNAVAILABLE, error: exception.name, message: exception.message };
  }
  if (exception instanceof HttpException) {
    const statusCode = exception.getStatus();
    const response = exception.getResponse();
    const fields = typeof response === 'object' && response !== null ? (response as Record<string, unknown>) : {};
    const message = fields.message ?? response;
    return {
      statusCode,
      error: typeof fields.error === 'string' ? fields.error : reasonPhrase(statusCode),
      message: Array.isArray(message) ? message.join('; ') : String(message),
    };
  }
  return {
    statusCode: HttpStatus.INTERNAL_SERVER_ERROR,
    error: reasonPhrase(HttpStatus.INTERNAL_SERVER_ERROR),
    message: 'Internal server error',
  };
}

/** Answers every error of the REST controller with `RestErrorBody`; unexpected ones are logged. */
@Catch()
export class RestExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('EricSse');

  catch(exception: unknown, host: ArgumentsHost): void {
    const body = restErrorBody(exception);
    if (body.statusCode === 503) {
      // The backend is down: one line per request, not a stack trace each.
      this.logger.warn(`REST endpoint unavailable: ${body.message}`);
    } else if (body.statusCode >= 500) {
      this.logger.error(
        `REST endpoint failed: ${exception instanceof Error ? `${exception.name}: ${exception.message}` : String(exception)}`,
        exception instanceof Error ? exception.stack : undefined,
      );
    }
    const res = host.switchToHttp().getResponse<ServerResponse>();
    if (res.headersSent) {
      res.end(); // a stream had started: its status can no longer change
      return;
    }
    res.statusCode = body.statusCode;
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(JSON.stringify(body));
  }
}

/**
 * 413 for a payload over `maxPayloadBytes`; 409 for a channel or listener count at its maximum (the request
 * can only succeed once one is removed); 429 for a full queue (it can succeed once the listener reads).
 */
function limitStatus(exception: LimitExceededException): number {
  if (exception instanceof MessageTooLargeException) return HttpStatus.PAYLOAD_TOO_LARGE;
  if (exception instanceof TooManyChannelsException || exception instanceof TooManyListenersException) {
    return HttpStatus.CONFLICT;
  }
  return HttpStatus.TOO_MANY_REQUESTS; // QueueFullException
}

function reasonPhrase(statusCode: number): string {
  return STATUS_CODES[statusCode] ?? 'Error';
}
