import pg from 'pg';

// int8 is bigint end to end: amounts never pass through a float.
pg.types.setTypeParser(20, (value) => BigInt(value));
pg.types.setTypeParser(1016 as 20, (value: string) =>
  value === '{}'
    ? []
    : value
        .slice(1, -1)
        .split(',')
        .map((item) => (item === 'NULL' ? null : BigInt(item))),
);
// numeric stays a string (the pg default): rates are decimal strings, never floats.

export type Row = Record<string, unknown>;

/** What both a pool and a transaction can do, so helpers accept either. */
export interface Queryable {
  query<T extends Row = Row>(
    sql: string | NamedStatement,
    params?: readonly unknown[],
  ): Promise<pg.QueryResult<T>>;
}

/**
 * A statement prepared once per connection under `name` (its parse and plan are reused): for
 * the hot, large statements of the write paths. The same name must always carry the same text.
 */
export interface NamedStatement {
  name: string;
  text: string;
}

export interface DatabaseOptions {
  url: string;
  poolMax?: number;
  idleTimeoutMs?: number;
  statementTimeoutMs?: number;
  applicationName?: string;
}

export interface TransactionOptions {
  /** Attempts in all, including the first, on serialization failure or deadlock. */
  maxAttempts?: number;
  isolation?: 'read committed' | 'repeatable read' | 'serializable';
}

const RETRYABLE = new Set(['40001', '40P01']);

export function isRetryable(error: unknown): boolean {
  return (
    typeof error === 'object' && error !== null && RETRYABLE.has((error as { code?: string }).code ?? '')
  );
}

export class Database implements Queryable {
  readonly pool: pg.Pool;
  readonly url: string;

  constructor(options: DatabaseOptions) {
    this.url = options.url;
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolMax ?? 10,
      idleTimeoutMillis: options.idleTimeoutMs ?? 10_000,
      application_name: options.applicationName ?? 'tuyere',
      ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
    });
    // An idle client losing its connection must not crash the process; the pool replaces it.
    this.pool.on('error', () => {});
  }

  query<T extends Row = Row>(
    sql: string | NamedStatement,
    params: readonly unknown[] = [],
  ): Promise<pg.QueryResult<T>> {
    return this.pool.query<T>(sql, params as unknown[]);
  }

  /**
   * Runs `work` in one transaction. Serialization failures and deadlocks are retried with
   * jittered exponential backoff, so `work` must be safe to run again from the start.
   */
  async transaction<T>(
    work: (tx: pg.PoolClient) => Promise<T>,
    options: TransactionOptions = {},
  ): Promise<T> {
    const maxAttempts = options.maxAttempts ?? 6;
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      let broken = false;
      try {
        await client.query(
          options.isolation ? `BEGIN ISOLATION LEVEL ${options.isolation.toUpperCase()}` : 'BEGIN',
        );
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true;
        }
        if (attempt < maxAttempts && isRetryable(error)) {
          await sleep(backoffMs(attempt));
          continue;
        }
        throw error;
      } finally {
        client.release(broken);
      }
    }
  }

  poolStats() {
    return { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

export function backoffMs(attempt: number, baseMs = 5, capMs = 500): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
