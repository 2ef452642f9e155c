import type { FriendTransfer, SendTransfer } from './transfers.ts';

/** A friend transfer waiting for its batch; resolve/reject answer the caller once. */
export interface QueuedTransfer {
  input: SendTransfer & { memo: string; delayHours: number };
  resolve(transfer: FriendTransfer): void;
  reject(error: unknown): void;
}

export interface TransferBatcherOptions {
  /** Most transfers in one batch. */
  batchMax?: number;
  /** Batches running at once (their limits, ledger and row steps overlap). */
  inFlightMax?: number;
}

/**
 * Group commit for friend transfers. Callers queue; whenever fewer than `inFlightMax`
 * batches are running, everything queued (up to `batchMax`) leaves as one batch. A lone
 * caller is sent at once (a batch of one, no timer); under load the batches grow by
 * themselves, so the per-batch round trips are shared by many transfers.
 * A transfer id already in a batch waits for the next one, so a batch never holds the
 * same id twice (a concurrent duplicate then finds the first one's row).
 */
export class TransferBatcher {
  private readonly queue: QueuedTransfer[] = [];
  private inFlight = 0;
  private readonly batchMax: number;
  private readonly inFlightMax: number;

  constructor(
    private readonly run: (batch: QueuedTransfer[]) => Promise<void>,
    options: TransferBatcherOptions = {},
  ) {
    this.batchMax = options.batchMax ?? 512;
    this.inFlightMax = options.inFlightMax ?? 4;
  }

  submit(input: QueuedTransfer['input']): Promise<FriendTransfer> {
    return new Promise<FriendTransfer>((resolve, reject) => {
      let settled = false;
      this.queue.push({
        input,
        resolve: (value) => {
          if (settled) return;
          settled = true;
          resolve(value);
        },
        reject: (error) => {
          if (settled) return;
          settled = true;
          reject(error);
        },
      });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.inFlightMax && this.queue.length > 0) {
      const batch: QueuedTransfer[] = [];
      const ids = new Set<string>();
      const deferred: QueuedTransfer[] = [];
      while (this.queue.length > 0 && batch.length < this.batchMax) {
        const item = this.queue.shift()!;
        if (ids.has(item.input.transferId)) {
          deferred.push(item);
        } else {
          ids.add(item.input.transferId);
          batch.push(item);
        }
      }
      this.queue.unshift(...deferred);
      this.inFlight++;
      this.run(batch)
        .catch((error) => {
          for (const item of batch) item.reject(error);
        })
        .finally(() => {
          // Anything the batch left unanswered is a bug; never leave a caller hanging.
          for (const item of batch) item.reject(new Error('transfer batch ended without an answer'));
          this.inFlight--;
          this.pump();
        });
    }
  }
}
