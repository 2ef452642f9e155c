/** A transfer waiting for its batch; resolve/reject answer the caller once. */
export interface Queued<Input, Output> {
  input: Input;
  resolve(output: Output): void;
  reject(error: unknown): void;
}

/** What the batcher needs to know of a transfer. */
interface Keyed {
  transferId: string;
  senderId: string;
}

export interface TransferBatcherOptions {
  /** Most transfers in one batch. */
  batchMax?: number;
  /** Batches running at once (one reads while another commits). */
  inFlightMax?: number;
}

/**
 * Group commit for friend transfers. Callers queue; whenever fewer than `inFlightMax`
 * batches are running, everything queued (up to `batchMax`) leaves as one batch. A lone
 * caller is sent at once (a batch of one, no timer); under load the batches grow by
 * themselves, so the per-batch round trips are shared by many transfers.
 * A transfer id already in a batch waits for the next one, so a batch never holds the
 * same id twice (a concurrent duplicate then finds the first one's row).
 * A sender with a batch running waits for it too (its transfers queued meanwhile leave
 * together in the next batch): a batch's limits are planned without locks and checked at
 * commit, so two running batches charging one sender's counters would make the later one
 * start over. Across processes that can still happen, and is retried (FriendTransfers).
 */
export class TransferBatcher<Input extends Keyed, Output> {
  private readonly queue: Queued<Input, Output>[] = [];
  private inFlight = 0;
  /** Senders with a batch running. */
  private readonly sendersInFlight = new Set<string>();
  private readonly batchMax: number;
  private readonly inFlightMax: number;

  constructor(
    private readonly run: (batch: Queued<Input, Output>[]) => Promise<void>,
    options: TransferBatcherOptions = {},
  ) {
    this.batchMax = options.batchMax ?? 512;
    // Two: one batch reads while the other commits. With one commit per batch (the ledger's,
    // which takes one participant, so one wallet batch, per ledger batch) more batches in flight
    // only made batches smaller: in runs alternating the settings (docs/WALLET.md), the service
    // bench's ratio to its baseline had medians of about 3x with 1-2 batches in flight, 2.1x
    // with 3-4 and 1.3x with 8.
    this.inFlightMax = options.inFlightMax ?? 2;
  }

  submit(input: Input): Promise<Output> {
    return new Promise<Output>((resolve, reject) => {
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
      const batch: Queued<Input, Output>[] = [];
      const ids = new Set<string>();
      const senders = new Set<string>();
      const deferred: Queued<Input, Output>[] = [];
      while (this.queue.length > 0 && batch.length < this.batchMax) {
        const item = this.queue.shift()!;
        if (ids.has(item.input.transferId) || this.sendersInFlight.has(item.input.senderId)) {
          deferred.push(item);
        } else {
          ids.add(item.input.transferId);
          senders.add(item.input.senderId);
          batch.push(item);
        }
      }
      this.queue.unshift(...deferred);
      // Everything queued waits for a running batch's sender (or id): nothing to send now.
      if (batch.length === 0) return;
      for (const sender of senders) this.sendersInFlight.add(sender);
      this.inFlight++;
      this.run(batch)
        .catch((error) => {
          for (const item of batch) item.reject(error);
        })
        .finally(() => {
          // Anything the batch left unanswered is a bug; never leave a caller hanging.
          for (const item of batch) item.reject(new Error('transfer batch ended without an answer'));
          for (const sender of senders) this.sendersInFlight.delete(sender);
          this.inFlight--;
          this.pump();
        });
    }
  }
}
