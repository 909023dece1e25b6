import { pythonJsonDumps } from '../../servers/socket/python-json.js';

/**
 * The error a failed `@MessagePattern` handler is answered with. Nest's exception filters turn a thrown
 * `RpcException` into its error (a string, or an object) and any other error into
 * `{ status: 'error', message: 'Internal server error' }`; on the wire either becomes
 * `RpcException('<message>')`, an object other than `{ status, message }` as its JSON text.
 */
export function rpcAnswerError(error: unknown): Error {
  if (error instanceof Error) return error;
  const answer = new Error(messageOf(error));
  answer.name = 'RpcException';
  return answer;
}

function messageOf(error: unknown): string {
  if (typeof error === 'string') return error;
  if (typeof error === 'object' && error !== null) {
    const { message, ...rest } = error as { message?: unknown; status?: unknown };
    const onlyStatus = Object.keys(rest).every((key) => key === 'status');
    if (typeof message === 'string' && onlyStatus) return message;
  }
  try {
    return pythonJsonDumps(error);
  } catch {
    return String(error);
  }
}
