import { timingSafeEqual } from 'node:crypto';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Clock } from '../clock.ts';
import type { Database } from '../db/database.ts';
import { AppError, forbidden, invalid, notFound, unauthenticated } from '../errors.ts';
import { uuidv7 } from '../ids.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { ERROR_SCHEMA, sendError } from './errors.ts';
import { installIdempotency } from './idempotency.ts';
import type { Authenticator, Principal, Role, RoutePolicy } from './policy.ts';

/** Every route as registered (hidden ones included), so tests can enumerate them all. */
export interface RegisteredRoute {
  method: string;
  url: string;
  policy: RoutePolicy | null;
}

declare module 'fastify' {
  interface FastifyInstance {
    registeredRoutes: RegisteredRoute[];
  }
}

export interface HttpServerOptions {
  log: Logger;
  metrics: Metrics;
  db: Database;
  clock: Clock;
  bodyLimitBytes: number;
  authenticators: Authenticator[];
  version: string;
  /** Where routes with `config.audit` record who called them (identity's audit log). */
  audit?: (entry: {
    actor: string;
    action: string;
    subject: string;
    details: Record<string, unknown>;
  }) => Promise<void>;
}

/** Roles that act on anyone's resources; 'user' and 'merchant' act only on their own. */
const STAFF_ROLES: ReadonlySet<Role> = new Set(['operator-read', 'operator-admin', 'auditor']);
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const DOC_ROUTES = /^\/(docs|openapi\.json)(\/|$)/;

/**
 * Security headers on every response (pages, static assets, API, errors), set by the maintained
 * @fastify/helmet plugin. Scripts only from our own origin (the Vite build emits no inline
 * script; the service worker is /sw.js); styles allow 'unsafe-inline' because React `style`
 * props and Swagger UI set inline styles (style injection cannot run script). No framing at all
 * (frame-ancestors 'none' and X-Frame-Options: DENY). WebAuthn needs no CSP source. No
 * upgrade-insecure-requests: local and test servers speak plain HTTP (TLS ends at the proxy,
 * which HSTS then pins).
 */
export const SECURITY_HEADERS = {
  global: true,
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      scriptSrcAttr: ["'none'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:'],
      fontSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      workerSrc: ["'self'"],
      manifestSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
  },
  frameguard: { action: 'deny' },
  referrerPolicy: { policy: 'no-referrer' },
  crossOriginEmbedderPolicy: false,
} as const;

function bigintReplacer(_key: string, value: unknown) {
  return typeof value === 'bigint' ? value.toString() : value;
}

function hasStrictObjects(schema: unknown): boolean {
  if (!schema || typeof schema !== 'object') return true;
  const node = schema as Record<string, unknown>;
  if (node.type === 'object' && node.additionalProperties !== false && node.properties) return false;
  for (const value of Object.values(node)) {
    if (Array.isArray(value) ? !value.every(hasStrictObjects) : !hasStrictObjects(value)) return false;
  }
  return true;
}

/**
 * The HTTP server every module registers its routes on. It enforces, for every route:
 * a declared policy (deny by default), strict schemas (no coercion, unknown properties
 * rejected), one error envelope, request ids, metrics, and idempotency where opted in.
 */
export async function createHttpServer(options: HttpServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.log,
    bodyLimit: options.bodyLimitBytes,
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : uuidv7();
    },
    ajv: {
      customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false },
    },
    routerOptions: { ignoreTrailingSlash: true },
  }) as unknown as FastifyInstance;

  app.decorateRequest('principal', null);
  const registered: RegisteredRoute[] = [];
  app.decorate('registeredRoutes', registered);
  app.setReplySerializer((payload) => JSON.stringify(payload, bigintReplacer));
  app.setErrorHandler((error, request, reply) => sendError(request, reply, error));
  app.setNotFoundHandler((request, reply) =>
    sendError(
      request,
      reply,
      notFound('route_not_found', `No route ${request.method} ${request.url.split('?')[0]}; see /docs.`),
    ),
  );
  app.addSchema(ERROR_SCHEMA);
  await app.register(helmet, SECURITY_HEADERS);

  app.addHook('onRoute', (route) => {
    route.config ??= {};
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) {
      if (method !== 'HEAD') registered.push({ method, url: route.url, policy: route.config.policy ?? null });
    }
    if (DOC_ROUTES.test(route.url)) {
      route.config.policy ??= { public: true };
      return;
    }
    if (!route.config.policy) {
      throw new Error(
        `Route ${route.method} ${route.url} declares no policy; add config.policy (deny by default).`,
      );
    }
    const schema = route.schema as Record<string, unknown> | undefined;
    for (const part of ['body', 'querystring', 'params'] as const) {
      if (schema?.[part] && !hasStrictObjects(schema[part])) {
        throw new Error(
          `Route ${route.method} ${route.url}: ${part} schema objects must set additionalProperties: false.`,
        );
      }
    }
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (methods.some((m) => ['POST', 'PUT', 'PATCH'].includes(m)) && !schema?.body) {
      // A route without a body schema takes no body (an empty JSON object is tolerated).
      const existing = route.preValidation;
      route.preValidation = [
        ...(Array.isArray(existing) ? existing : existing ? [existing] : []),
        rejectBody,
      ];
    }
    if (schema) {
      schema.response ??= {};
      const responses = schema.response as Record<string, unknown>;
      responses['4xx'] ??= { $ref: 'Error#' };
      responses['5xx'] ??= { $ref: 'Error#' };
    }
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tuyere API',
        version: options.version,
        description:
          'Wallet, payments and ledger API. Amounts are strings of integer minor units ("1250" is 12.50 CNY). ' +
          'Errors share one envelope: {"error":{"code","message","request_id","details"}}. ' +
          'Requests that move money require an Idempotency-Key header.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'Session access token or operator token' },
        },
      },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(rateLimit, {
    global: false,
    keyGenerator: (request) => request.principal?.key ?? request.ip,
    errorResponseBuilder: (_request, context) => {
      const error = new AppError(
        'rate_limited',
        'rate_limited',
        `Too many requests; retry in ${Math.ceil(context.ttl / 1000)} s.`,
        {
          retry_after_s: Math.ceil(context.ttl / 1000),
        },
      );
      return error;
    },
  });

  app.addHook('onRequest', async (request) => {
    request.principal = await authenticate(request, options.authenticators);
    const policy = request.routeOptions.config.policy;
    if (!policy || 'public' in policy) return;
    authorizeRole(request.principal, policy);
  });
  app.addHook('preHandler', async (request) => {
    const policy = request.routeOptions.config.policy;
    if (!policy || 'public' in policy || !policy.owner) return;
    const principal = request.principal!;
    if (principal.roles.some((role) => STAFF_ROLES.has(role) && policy.roles.includes(role))) {
      // Staff still need the resource to exist.
      if ((await policy.owner(request)) === undefined) throw notFound('not_found', 'No such resource.');
      return;
    }
    const owner = await policy.owner(request);
    if (owner === undefined || owner !== principal.id) {
      // Someone else's resource looks exactly like a missing one, so ids cannot be probed.
      throw notFound('not_found', 'No such resource.');
    }
  });
  app.addHook('preHandler', async (request) => {
    const action = request.routeOptions.config.audit;
    // A server without an audit log (a module's routes tested alone) records nothing.
    if (!action || !request.principal || !options.audit) return;
    // The route and its path ids only: no query string or body (they may carry personal data).
    await options.audit({
      actor: request.principal.key,
      action,
      subject: `route:${request.method} ${request.routeOptions.url}`,
      details: { params: request.params ?? {}, request_id: request.id },
    });
  });
  installIdempotency(app, { db: options.db, clock: options.clock });

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    const labels = {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status: String(reply.statusCode),
    };
    options.metrics.httpRequests.inc(labels);
    options.metrics.httpDuration.observe(labels, reply.elapsedTime / 1000);
  });
  return app;
}

async function rejectBody(request: FastifyRequest): Promise<void> {
  const body = request.body;
  if (body === undefined || body === null) return;
  if (typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0) return;
  throw invalid('unexpected_body', 'This endpoint takes no request body; send none.');
}

async function authenticate(
  request: FastifyRequest,
  authenticators: Authenticator[],
): Promise<Principal | null> {
  for (const authenticator of authenticators) {
    const principal = await authenticator(request);
    if (principal) return principal;
  }
  // A credential that no authenticator recognises is refused, never treated as anonymous.
  if (request.headers.authorization !== undefined)
    throw unauthenticated('token_invalid', 'The bearer token is not one we issued.');
  return null;
}

function authorizeRole(principal: Principal | null, policy: Exclude<RoutePolicy, { public: true }>): void {
  if (!principal)
    throw unauthenticated('authentication_required', 'Sign in first: send Authorization: Bearer <token>.');
  if (!principal.roles.some((role) => policy.roles.includes(role))) {
    throw forbidden('forbidden', 'Your role may not call this endpoint.');
  }
  if (principal.kind === 'merchant' && policy.scope && !principal.scopes?.includes(policy.scope)) {
    throw forbidden('insufficient_scope', `This API key lacks the "${policy.scope}" scope.`);
  }
}

/** Bearer-token authenticator for the operator token from config (before identity exists, and for ops scripts). */
export function operatorTokenAuthenticator(token: string): Authenticator {
  const expected = Buffer.from(token);
  return async (request) => {
    const header = request.headers.authorization;
    if (!token || !header?.startsWith('Bearer ')) return null;
    const presented = Buffer.from(header.slice(7));
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) return null;
    return {
      key: 'operator:root',
      kind: 'operator',
      id: 'root',
      roles: ['operator-admin', 'operator-read', 'auditor'],
    };
  };
}
