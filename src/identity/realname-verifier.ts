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

/** Class granted for a number of confirming sources (pure). */
export function classForSources(sources: number): 1 | 2 | 3 {
  if (sources >= 5) return 3;
  if (sources >= 3) return 2;
  return 1;
}
