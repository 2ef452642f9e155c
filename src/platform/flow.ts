/**
 * Cross-module flows as steps with explicit compensations (the saga style): a flow runs its
 * steps in order; when one throws, the compensations of the steps that completed run in
 * reverse order, then the error is rethrown. Every money path that spans modules (pay from a
 * funding source, send an envelope, a top-up; later checkout, fund redemption, loan
 * disbursement) is written this way, so what undoes what is stated next to what it undoes.
 *
 * Steps and compensations must be idempotent: a process can die between any two of them, and
 * whoever finishes the flow later (a retry with the same ids, a recovery job) runs them again.
 * A compensation that itself fails is reported with the original error (FlowCompensationError);
 * the flow's recovery path must then heal it.
 *
 * @example
 * const state = await runFlow('wallet.friend_transfer', { transferId, amount }, [
 *   { name: 'reserve limits', run: (s) => reserve(s), compensate: (s) => release(s.transferId) },
 *   { name: 'move money', run: (s) => transfer(s) },
 * ]);
 */
export interface FlowStep<S> {
  name: string;
  /** Does the step's work; may add to the state (returns nothing, or a patch merged into it). */
  // biome-ignore lint/suspicious/noConfusingVoidType: a step that adds nothing just returns
  run(state: S): Promise<Partial<S> | undefined | void>;
  /** Undoes a completed `run` when a later step fails; omitted for steps nothing needs to undo. */
  compensate?(state: S, cause: unknown): Promise<void>;
}

export class FlowCompensationError extends Error {
  constructor(
    readonly flow: string,
    readonly step: string,
    override readonly cause: unknown,
    readonly compensationError: unknown,
  ) {
    super(`flow ${flow}: compensating "${step}" failed after an error; the flow's recovery must finish it`);
    this.name = 'FlowCompensationError';
  }
}

export async function runFlow<S extends object>(
  name: string,
  initial: S,
  steps: readonly FlowStep<S>[],
): Promise<S> {
  let state = initial;
  const done: FlowStep<S>[] = [];
  for (const step of steps) {
    try {
      const patch = await step.run(state);
      if (patch) state = { ...state, ...patch };
      done.push(step);
    } catch (error) {
      for (const completed of done.reverse()) {
        if (!completed.compensate) continue;
        try {
          await completed.compensate(state, error);
        } catch (compensationError) {
          throw new FlowCompensationError(name, completed.name, error, compensationError);
        }
      }
      throw error;
    }
  }
  return state;
}
