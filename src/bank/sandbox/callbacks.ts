import type { Clock } from '../../platform/clock.ts';
import type { Logger } from '../../platform/log.ts';
import type { CallbackWire } from '../types.ts';
import { signWebhook } from '../webhook.ts';

/**
 * Sends signed callbacks to the merchant, retrying failed deliveries with backoff. Events of
 * one batch start in the order given (which is how out-of-order delivery is staged). Bounded:
 * at most `maxPending` undelivered events (more are dropped and logged, like a bank's
 * overflowing notification queue) and a fixed number of attempts per event.
 */
export interface DeliveryRecord {
  webhook_id: string;
  type: CallbackWire['type'];
  request_id: string;
  sequence: number;
  url: string;
  status: 'pending' | 'delivered' | 'failed' | 'lost' | 'dropped';
  attempts: number;
  last_status_code: number | null;
}

export interface DispatcherOptions {
  secret: string;
  clock: Clock;
  log: Logger;
  /** Waits before each retry; its length is the number of retries. */
  retryDelaysMs: readonly number[];
  maxPending: number;
  timeoutMs: number;
}

const MAX_RECORDS = 10_000;

export class CallbackDispatcher {
  private readonly records: DeliveryRecord[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private pending = 0;
  private stopped = false;

  constructor(private readonly options: DispatcherOptions) {}

  /** Sends the events one after another (first attempts); resolves when each has had one try. */
  async send(url: string | null, events: CallbackWire[]): Promise<void> {
    for (const event of events) {
      const record = this.record(url ?? '', event, 'pending');
      if (!url) {
        record.status = 'failed';
        this.options.log.warn({ request_id: event.data.request_id }, 'no callback url; callback not sent');
        continue;
      }
      if (this.pending >= this.options.maxPending) {
        record.status = 'dropped';
        this.options.log.warn({ request_id: event.data.request_id }, 'callback queue full; callback dropped');
        continue;
      }
      this.pending += 1;
      await this.track(this.attempt(url, event, record));
    }
  }

  /** Records events the lost-callback knob swallowed, so tests can see what was never sent. */
  markLost(url: string | null, events: CallbackWire[]): void {
    for (const event of events) this.record(url ?? '', event, 'lost');
  }

  deliveries(requestId?: string): DeliveryRecord[] {
    return this.records.filter((record) => !requestId || record.request_id === requestId);
  }

  /** Resolves when no delivery is in flight or waiting for a retry. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0 || this.timers.size > 0) {
      await Promise.race([...this.inFlight, new Promise((resolve) => setTimeout(resolve, 10))]);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.abort.abort();
  }

  private record(url: string, event: CallbackWire, status: DeliveryRecord['status']): DeliveryRecord {
    const record: DeliveryRecord = {
      webhook_id: event.id,
      type: event.type,
      request_id: event.data.request_id,
      sequence: event.data.sequence,
      url,
      status,
      attempts: 0,
      last_status_code: null,
    };
    this.records.push(record);
    if (this.records.length > MAX_RECORDS) this.records.shift();
    return record;
  }

  private track(work: Promise<void>): Promise<void> {
    this.inFlight.add(work);
    return work.finally(() => this.inFlight.delete(work));
  }

  private async attempt(url: string, event: CallbackWire, record: DeliveryRecord): Promise<void> {
    if (this.stopped) return;
    record.attempts += 1;
    const body = JSON.stringify(event);
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...signWebhook(this.options.secret, event.id, this.options.clock.now(), body),
        },
        body,
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.options.timeoutMs)]),
      });
      record.last_status_code = response.status;
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) {
        record.status = 'delivered';
        this.pending -= 1;
        return;
      }
    } catch {
      record.last_status_code = null;
    }
    const delay = this.options.retryDelaysMs[record.attempts - 1];
    if (delay === undefined || this.stopped) {
      record.status = 'failed';
      this.pending -= 1;
      this.options.log.warn(
        { request_id: event.data.request_id, attempts: record.attempts },
        'callback given up',
      );
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.track(this.attempt(url, event, record));
    }, delay);
    this.timers.add(timer);
  }
}
