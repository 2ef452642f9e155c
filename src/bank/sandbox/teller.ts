import type { CallbackWire, Direction, OperationWire } from '../types.ts';
import { type Operation, operationWire, type SandboxBankState } from './bank.ts';
import type { CallbackDispatcher } from './callbacks.ts';
import { DEFAULT_OUTCOME_DELAY_MS, mergeFaults, type SandboxFaults } from './faults.ts';

/**
 * Runs a debit or credit through the fault knobs: latency, hanging past the client's
 * timeout (with or without the operation happening), early/duplicate/out-of-order/lost
 * callbacks. Returns what the API should answer, or null when the call "never arrived".
 */
export interface SubmitRequest {
  requestId: string;
  direction: Direction;
  cardToken: string;
  amount: bigint;
  currency: string;
  notifyUrl: string | null;
  faults: SandboxFaults | undefined;
}

export interface TellerOptions {
  state: SandboxBankState;
  dispatcher: CallbackDispatcher;
  defaultCallbackUrl: () => string | null;
  /** How long a "timeout" call hangs at most if the client never gives up. */
  hangMs: number;
}

export class Teller {
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly options: TellerOptions) {}

  async submit(
    request: SubmitRequest,
    hang: (ms: number) => Promise<void>,
  ): Promise<{ created: boolean; body: OperationWire } | null> {
    const { state } = this.options;
    const card = state.card(request.cardToken);
    const faults = mergeFaults(card.faults, request.faults);
    if (faults.latency_ms) await sleep(faults.latency_ms);
    if (faults.timeout === 'not_received') {
      await hang(this.options.hangMs);
      return null;
    }
    const { operation, created } = state.submit({
      ...request,
      faults,
      notifyUrl: request.notifyUrl ?? this.options.defaultCallbackUrl(),
    });
    if (created) {
      if (faults.early_callback) await this.finish(operation, card.last4);
      else this.finishLater(operation, card.last4, faults.outcome_delay_ms ?? DEFAULT_OUTCOME_DELAY_MS);
    }
    if (created && faults.timeout === 'accepted') await hang(this.options.hangMs);
    return { created, body: operationWire(operation, card.last4) };
  }

  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private finishLater(operation: Operation, last4: string, delayMs: number) {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.finish(operation, last4);
    }, delayMs);
    this.timers.add(timer);
  }

  private async finish(operation: Operation, last4: string): Promise<void> {
    this.options.state.settle(operation);
    const events = callbackEvents(operation, last4);
    if (operation.faults.lost_callback) this.options.dispatcher.markLost(operation.notifyUrl, events);
    else await this.options.dispatcher.send(operation.notifyUrl, events);
  }
}

/** The callbacks one final outcome produces, in the order they are sent. */
export function callbackEvents(operation: Operation, last4: string): CallbackWire[] {
  const data = operationWire(operation, last4);
  const final: CallbackWire = {
    id: `evt_${operation.bankReference}_2`,
    type: operation.status === 'succeeded' ? 'operation.succeeded' : 'operation.declined',
    created_at: data.completed_at!,
    data,
  };
  const events = [final];
  const copies = operation.faults.duplicate_callbacks ?? 0;
  for (let copy = 1; copy <= copies; copy++) {
    // The first copy is a plain redelivery (same webhook-id); later ones look like new notices.
    events.push(copy === 1 ? final : { ...final, id: `${final.id}_dup${copy}` });
  }
  if (operation.faults.out_of_order_callbacks) {
    events.push({
      id: `evt_${operation.bankReference}_1`,
      type: 'operation.processing',
      created_at: data.created_at,
      data: { ...data, status: 'processing', decline_reason: null, sequence: 1, completed_at: null },
    });
  }
  return events;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
