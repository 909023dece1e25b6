import 'reflect-metadata';
import type { Type } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidConfigurationException } from '../../core/errors.js';
import { requestBodyOf } from './rest-request-body.js';

/** Marks the route handlers of one REST controller class; Nest copies it onto the handlers it registers. */
const REST_ROUTE_OF = Symbol('eric-sse:rest-route-of');

type Handler = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

/** The parts of Express 5's router (`app.router`) the gate relies on. */
interface ExpressRouter {
  stack: ExpressLayer[];
  route(path: unknown): ExpressRoute;
}

interface ExpressLayer {
  route?: ExpressRoute;
  handle?: unknown;
}

type ExpressRoute = { path: unknown; stack: { handle: unknown; method?: string }[] } & Record<string, unknown>;

/** The parts of Nest's `AbstractHttpAdapter` the gate uses. */
interface HttpAdapter {
  getType(): string;
  getInstance(): unknown;
}

/** Marks every route method of `controller`, so `installRestBodyGate` can find the routes Nest made for it. */
export function markRestRoutes(controller: Type): void {
  const prototype = controller.prototype as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(prototype)) {
    const method = prototype[name];
    if (name !== 'constructor' && typeof method === 'function') {
      Reflect.defineMetadata(REST_ROUTE_OF, controller, method);
    }
  }
}

/**
 * Puts, in front of everything else in the Express app, a gate for each route of `controller` that
 * reads the request body itself, keeping at most `limit` bytes, before calling `next`. Body parsers
 * registered by the app (Nest's default JSON parser with its 100 kB limit, `useBodyParser`, `app.use`)
 * then find the body read and skip it, so `rest.bodyLimit` holds whatever they are configured to.
 *
 * Runs after Nest has registered the routes (from `onModuleInit`). Does nothing without an HTTP
 * server. @throws InvalidConfigurationException for an adapter other than Express, or when the
 * controller's routes cannot be found.
 */
export function installRestBodyGate(adapter: HttpAdapter | undefined, controller: Type, limit: number): void {
  if (adapter === undefined) return;
  if (adapter.getType() !== 'express') {
    throw new InvalidConfigurationException(
      `rest needs the Express HTTP adapter (@nestjs/platform-express); this application uses ${adapter.getType()}`,
    );
  }
  const router = (adapter.getInstance() as { router?: ExpressRouter }).router;
  const routes = Array.isArray(router?.stack) ? routesOf(router.stack, controller) : [];
  if (router === undefined || routes.length === 0) {
    throw new InvalidConfigurationException(
      `rest: the routes of ${controller.name} are not in the Express router, so rest.bodyLimit cannot be enforced`,
    );
  }
  const gate: Handler = (req, _res, next) => {
    requestBodyOf(req, limit).then(() => next());
  };
  for (const route of routes) {
    const gateRoute = router.route(route.path);
    for (const method of methodsOf(route, controller)) {
      (gateRoute[method] as (this: ExpressRoute, handler: Handler) => void).call(gateRoute, gate);
    }
    // `route()` appended the gate's layer; it must run before any body parser.
    router.stack.unshift(router.stack.pop() as ExpressLayer);
  }
}

function routesOf(stack: ExpressLayer[], controller: Type): ExpressRoute[] {
  return stack
    .map((layer) => layer.route)
    .filter((route): route is ExpressRoute => route !== undefined && methodsOf(route, controller).length > 0);
}

function methodsOf(route: ExpressRoute, controller: Type): string[] {
  const methods = route.stack
    .filter(({ handle }) => isObjectLike(handle) && Reflect.getMetadata(REST_ROUTE_OF, handle) === controller)
    .map(({ method }) => method ?? 'all');
  return [...new Set(methods)];
}

function isObjectLike(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}
