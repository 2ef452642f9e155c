import type { FastifyRequest } from 'fastify';
import type { Queryable } from '../../platform/db/database.ts';
import type { Identity } from '../identity.ts';
import { deviceOwner, userOwner, userSessionOwner } from '../store/owners.ts';

/** Owner resolvers for route policies: the owning user's id, or undefined (404). */
type Params = Record<string, string | undefined>;

function resolver(
  identity: Identity,
  param: string,
  lookup: (db: Queryable, id: string) => Promise<string | undefined>,
) {
  return async (request: FastifyRequest) => {
    const id = (request.params as Params)[param];
    return id ? lookup(identity.context.db, id) : undefined;
  };
}

export const owners = (identity: Identity) => ({
  user: resolver(identity, 'user_id', userOwner),
  device: resolver(identity, 'device_id', deviceOwner),
  session: resolver(identity, 'session_id', userSessionOwner),
});
