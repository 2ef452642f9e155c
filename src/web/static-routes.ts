import { existsSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { WEB_DIST } from './paths.ts';

const PUBLIC = { policy: { public: true } } as const;
/** Top-level files the build emits (manifest, service worker, icons). */
const TOP_FILE = /^[a-z0-9][a-z0-9.-]{0,60}\.(webmanifest|js|svg|png|ico|txt)$/;
const ASSET = /^[A-Za-z0-9_.-]{1,120}$/;

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Tuyere</title>
<body style="font-family:system-ui;padding:2rem;max-width:40rem">
<h1>The web app is not built yet</h1>
<p>Run <code>npm start</code> (it builds first) or <code>npm run build:web</code>, then reload.
The API is up: see <a href="/docs">/docs</a>.</p></body>`;

/**
 * Serves the built wallet (/) and ops console (/console) from web/dist. The apps route
 * with the URL hash, so the server only needs their two HTML pages, hashed assets and a few
 * top-level files. Everything is public: the data behind them needs a session.
 */
export async function staticRoutes(app: FastifyInstance) {
  await app.register(fastifyStatic, { root: WEB_DIST, serve: false });

  const page = (reply: FastifyReply, file: string) => {
    reply.header('cache-control', 'no-cache');
    if (!existsSync(path.join(WEB_DIST, file))) return reply.type('text/html; charset=utf-8').send(NOT_BUILT);
    return reply.sendFile(file);
  };
  const hidden = { hide: true } as const;

  app.get('/', { config: PUBLIC, schema: hidden }, (_request, reply) => page(reply, 'index.html'));
  app.get('/console', { config: PUBLIC, schema: hidden }, (_request, reply) =>
    page(reply, 'console/index.html'),
  );
  app.get(
    '/assets/*',
    {
      config: PUBLIC,
      schema: {
        hide: true,
        params: { type: 'object', additionalProperties: false, properties: { '*': { type: 'string' } } },
      },
    },
    (request, reply) => {
      const file = (request.params as { '*': string })['*'];
      if (!ASSET.test(file) || !existsSync(path.join(WEB_DIST, 'assets', file))) return reply.callNotFound();
      // Vite puts a content hash in every asset name: cache them for good.
      return reply.sendFile(`assets/${file}`, { immutable: true, maxAge: 31_536_000_000 });
    },
  );
  app.get(
    '/:file',
    {
      config: PUBLIC,
      schema: {
        hide: true,
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['file'],
          properties: { file: { type: 'string' } },
        },
      },
    },
    (request, reply) => {
      const { file } = request.params as { file: string };
      if (!TOP_FILE.test(file) || !existsSync(path.join(WEB_DIST, file))) return reply.callNotFound();
      reply.header('cache-control', 'no-cache');
      if (file === 'sw.js') reply.header('service-worker-allowed', '/');
      return reply.sendFile(file);
    },
  );
}
