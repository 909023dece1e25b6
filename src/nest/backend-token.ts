/** @internal Injection token of the module's `EricSseBackend` (see `create-backend.ts`). */
export const ERIC_SSE_BACKEND = Symbol('ERIC_SSE_BACKEND');
