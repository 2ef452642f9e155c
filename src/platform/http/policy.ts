import type { FastifyRequest } from 'fastify';

/**
 * Who may call a route, and on whose resources. Every route must declare a policy in its
 * `config.policy`; the server refuses to start with a route that has none (deny by default).
 */
export type Role = 'user' | 'merchant' | 'operator-read' | 'operator-admin' | 'auditor';
export const ROLES: readonly Role[] = ['user', 'merchant', 'operator-read', 'operator-admin', 'auditor'];

export interface Principal {
  /** 'user:<id>', 'merchant:<id>', 'operator:<id>': unique across kinds; idempotency keys are scoped by it. */
  key: string;
  kind: 'user' | 'merchant' | 'operator';
  id: string;
  roles: readonly Role[];
  /** Session or API-key id, for audit and revocation. */
  credentialId?: string;
  /** Merchant API-key scopes. */
  scopes?: readonly string[];
}

export type RoutePolicy =
  | { public: true }
  | {
      roles: readonly Role[];
      /**
       * For routes on one owner's resources: returns the owner id (the user or merchant that
       * owns what the request touches), or undefined when it does not exist. A 'user' or
       * 'merchant' principal passes only for its own id; operator and auditor roles listed in
       * `roles` pass for any owner. Returning undefined gives 404, so ids cannot be probed.
       */
      owner?: (request: FastifyRequest) => string | undefined | Promise<string | undefined>;
      /** Merchant API-key scope required, when a merchant calls. */
      scope?: string;
    };

/** Resolves the caller from a request, or null when this authenticator does not apply. */
export type Authenticator = (request: FastifyRequest) => Promise<Principal | null>;

declare module 'fastify' {
  interface FastifyContextConfig {
    policy?: RoutePolicy;
    /** Money-moving routes opt in: requires an Idempotency-Key header. */
    idempotent?: boolean;
    /**
     * Staff actions that must leave a trace (operator ledger writes, storms): the audit action
     * recorded, with the caller and the route, before the handler runs (audited, or not done).
     */
    audit?: string;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}
