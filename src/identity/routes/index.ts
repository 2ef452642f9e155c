import type { FastifyInstance } from 'fastify';
import type { Identity } from '../identity.ts';
import { authRoutes } from './auth.ts';
import { deviceRoutes } from './devices.ts';
import { operatorRoutes } from './operator.ts';
import { userRoutes } from './users.ts';

export async function identityRoutes(
  app: FastifyInstance,
  identity: Identity,
  options: { sandboxInbox: boolean } = { sandboxInbox: true },
) {
  await authRoutes(app, identity);
  await userRoutes(app, identity);
  await deviceRoutes(app, identity);
  await operatorRoutes(app, identity, options);
}
