import { BadRequestException, PayloadTooLargeException, UnsupportedMediaTypeException } from '@nestjs/common';
import type { RawRequestBody } from './rest-request-body.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The JSON value a request body holds, or `undefined` when there is no body (or an empty one).
 * The Content-Type is not looked at: any body must be UTF-8 JSON text.
 * @throws PayloadTooLargeException (413) over the limit; UnsupportedMediaTypeException (415) for a
 * compressed body; BadRequestException (400) for a body that is not UTF-8 JSON or was not received whole.
 */
export function decodeJsonBody(body: RawRequestBody): unknown {
  switch (body.kind) {
    case 'none':
      return undefined;
    case 'too-large':
      throw new PayloadTooLargeException(`The request body is larger than ${body.limit} bytes (rest.bodyLimit)`);
    case 'encoded':
      throw new UnsupportedMediaTypeException(
        `Content-Encoding ${body.encoding} is not supported: send the JSON body uncompressed`,
      );
    case 'incomplete':
      throw new BadRequestException('The request body was not received completely');
    case 'complete':
      return parseJson(body.bytes);
  }
}

function parseJson(bytes: Buffer): unknown {
  if (bytes.length === 0) return undefined;
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new BadRequestException('The request body is not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BadRequestException(`The request body is not valid JSON: ${(error as Error).message}`);
  }
}
