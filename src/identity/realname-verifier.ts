import type { Logger } from '../platform/log.ts';
import { postSignedJson, type SignedGatewayOptions } from '../platform/signed-gateway.ts';

/**
 * The real-name verification connector (public security bureau, bank cards, carriers...).
 * It reports how many independent sources confirmed the name and ID number.
 */
export interface RealNameRequest {
  name: string;
  idNumber: string;
  /** Class the user asks for: 2 needs 3 sources, 3 needs 5 (or face to face). */
  requestedClass: 2 | 3;
}

export type RealNameOutcome =
  | { status: 'matched'; sources: number }
  | { status: 'name_mismatch' }
  | { status: 'id_not_found' }
  | { status: 'unavailable' };

export interface RealNameVerifier {
  verify(request: RealNameRequest): Promise<RealNameOutcome>;
}

/**
 * Deterministic sandbox: the outcome follows from the 3-digit sequence code (ID positions
 * 15-17), so tests and the demo can ask for any case:
 * - 999: provider unavailable (transient, retry later)
 * - 998: the name does not match the ID number
 * - 997: no such ID number
 * - 996: only 3 sources confirm (enough for class II, not III)
 * - anything else: 5 sources confirm.
 */
export class SandboxRealNameVerifier implements RealNameVerifier {
  async verify(request: RealNameRequest): Promise<RealNameOutcome> {
    return sandboxOutcome(request.idNumber);
  }
}

function sandboxOutcome(idNumber: string): RealNameOutcome {
  switch (idNumber.slice(14, 17)) {
    case '999':
      return { status: 'unavailable' };
    case '998':
      return { status: 'name_mismatch' };
    case '997':
      return { status: 'id_not_found' };
    case '996':
      return { status: 'matched', sources: 3 };
    default:
      return { status: 'matched', sources: 5 };
  }
}

/**
 * The real-name gateway adapter: a signed JSON POST (platform/signed-gateway.ts) of
 * `{"name","id_number","requested_class"}`; the gateway answers `{"status":"matched","sources":n}`,
 * `{"status":"name_mismatch"}` or `{"status":"id_not_found"}`. Anything else (no answer, a
 * non-2xx, an unknown shape) is `unavailable`, which users see as a stable retry-later error.
 * The name and ID number are never logged.
 */
export class HttpRealNameVerifier implements RealNameVerifier {
  constructor(
    private readonly gateway: SignedGatewayOptions,
    private readonly log: Logger,
  ) {}

  async verify(request: RealNameRequest): Promise<RealNameOutcome> {
    const reply = await postSignedJson(this.gateway, {
      name: request.name,
      id_number: request.idNumber,
      requested_class: request.requestedClass,
    });
    if (reply.ok) {
      const outcome = parseOutcome(reply.body);
      if (outcome) return outcome;
    }
    this.log.warn(
      { cause: reply.ok ? 'malformed' : reply.cause, status: reply.status },
      'real-name gateway failed',
    );
    return { status: 'unavailable' };
  }
}

/** A gateway's answer as an outcome, or undefined when it is not one (pure). */
export function parseOutcome(body: unknown): RealNameOutcome | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { status, sources } = body as { status?: unknown; sources?: unknown };
  if (status === 'matched' && Number.isInteger(sources) && (sources as number) >= 0)
    return { status, sources: sources as number };
  if (status === 'name_mismatch' || status === 'id_not_found') return { status };
  return undefined;
}

/** Class granted for a number of confirming sources (pure). */
export function classForSources(sources: number): 1 | 2 | 3 {
  if (sources >= 5) return 3;
  if (sources >= 3) return 2;
  return 1;
}
