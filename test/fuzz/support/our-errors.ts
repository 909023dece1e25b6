import * as library from '../../../src/index.js';
import { EricSseException, parseErrorAnswer } from '../../../src/index.js';

/** The class names of every error the package exports: what a socket error answer may name. */
export const OUR_ERROR_NAMES: ReadonlySet<string> = new Set(
  Object.values(library)
    .filter(
      (value): value is typeof EricSseException =>
        typeof value === 'function' &&
        (value === EricSseException || (value as { prototype?: unknown }).prototype instanceof EricSseException),
    )
    .map((errorClass) => errorClass.name),
);

/** The error class an answer names when it is `<OurClass>('...')`; undefined for anything else. */
export function ourErrorName(answer: string): string | undefined {
  const parsed = parseErrorAnswer(answer);
  return parsed !== undefined && OUR_ERROR_NAMES.has(parsed.name) ? parsed.name : undefined;
}
