import Fastify, { type FastifyInstance, LogController } from 'fastify';
import { type Clock, systemClock } from '../../platform/clock.ts';
import { notFound } from '../../platform/errors.ts';
import { sendError } from '../../platform/http/errors.ts';
import { createLogger, type Logger } from '../../platform/log.ts';
import { SandboxBankState } from './bank.ts';
import { CallbackDispatcher } from './callbacks.ts';
import { randomSeed, seededRandom } from './random.ts';
import { registerAdminRoutes } from './routes-admin.ts';
import { registerBankRoutes } from './routes-bank.ts';
import { Teller } from './teller.ts';

export interface SandboxBankOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  clock?: Clock;
  /** Where callbacks go when a request names no notify_url; can be changed later via /sandbox/settings. */
  callbackUrl?: string | null;
  /** Standard Webhooks secret the callbacks are signed with. */
  secret?: string;
  /** Same seed, same SMS codes, tokens and references. */
  seed?: string;
  timeZone?: string;
  log?: Logger;
  logLevel?: string;
  /** LOG_FORMAT: readable lines on a terminal by default. */
  logFormat?: 'auto' | 'json' | 'pretty';
  /** Waits before each callback retry; its length is the number of retries. */
  callbackRetryDelaysMs?: readonly number[];
  callbackTimeoutMs?: number;
  maxPendingCallbacks?: number;
  /** How long a "timeout" fault holds the API call if the client never gives up. */
  hangMs?: number;
}

export interface SandboxBank {
  url: string;
  port: number;
  secret: string;
  state: SandboxBankState;
  dispatcher: CallbackDispatcher;
  setCallbackUrl(url: string | null): void;
  stop(): Promise<void>;
}

export const DEFAULT_SANDBOX_SECRET = 'whsec_dHV5ZXJlLXNhbmRib3gtYmFuay1kZXYtc2VjcmV0';
const BODY_LIMIT_BYTES = 16 * 1024;

/** Starts the sandbox bank on its own HTTP port, in this process. */
export async function startSandboxBank(options: SandboxBankOptions = {}): Promise<SandboxBank> {
  const clock = options.clock ?? systemClock;
  const secret = options.secret ?? DEFAULT_SANDBOX_SECRET;
  const log =
    options.log ??
    createLogger({ level: options.logLevel ?? 'warn', name: 'bank-sandbox', format: options.logFormat });
  const state = new SandboxBankState(
    clock,
    seededRandom(options.seed ?? randomSeed()),
    options.timeZone ?? 'Asia/Shanghai',
  );
  const dispatcher = new CallbackDispatcher({
    secret,
    clock,
    log,
    retryDelaysMs: options.callbackRetryDelaysMs ?? [1_000, 5_000, 30_000, 120_000, 600_000],
    maxPending: options.maxPendingCallbacks ?? 10_000,
    timeoutMs: options.callbackTimeoutMs ?? 5_000,
  });
  let callbackUrl = options.callbackUrl ?? null;
  const teller = new Teller({
    state,
    dispatcher,
    defaultCallbackUrl: () => callbackUrl,
    hangMs: options.hangMs ?? 30_000,
  });

  const app = Fastify({
    loggerInstance: log,
    // The sandbox's per-request lines would drown the app's own at the default level (info).
    logController: new LogController({ disableRequestLogging: !log.isLevelEnabled('debug') }),
    bodyLimit: BODY_LIMIT_BYTES,
    forceCloseConnections: true,
    ajv: {
      customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false },
    },
  }) as unknown as FastifyInstance;
  app.setErrorHandler((error, request, reply) => sendError(request, reply, error));
  app.setNotFoundHandler((request, reply) =>
    sendError(
      request,
      reply,
      notFound(
        'route_not_found',
        `No route ${request.method} ${request.url.split('?')[0]} at the sandbox bank.`,
      ),
    ),
  );
  registerBankRoutes(app, { state, teller, clock });
  registerAdminRoutes(app, { state, dispatcher, setCallbackUrl: (url) => (callbackUrl = url) });

  await app.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 0);
  const host = options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1';
  return {
    url: `http://${host}:${port}`,
    port,
    secret,
    state,
    dispatcher,
    setCallbackUrl: (url) => {
      callbackUrl = url;
    },
    async stop() {
      teller.stop();
      dispatcher.stop();
      await app.close();
    },
  };
}
