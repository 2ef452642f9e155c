import type { Counter } from 'prom-client';
import type { Metrics } from '../platform/metrics.ts';

/** One point of the console's live dashboard. Rates are per second over the interval. */
export interface DashboardSample {
  at: string;
  payments_per_s: number;
  grabs_per_s: number;
  requests_per_s: number;
  /** Share of payment and grab requests answered 2xx; null when there were none. */
  success_rate: number | null;
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
  jobs_backlog: number;
}

/** POST routes that move money (a payment each). */
const PAYMENT_ROUTE = /^\/v1\/(users\/:user_id\/(transfers|top-ups|withdrawals)|envelopes)$/;
const GRAB_ROUTE = /\/grab$/;
/** Counters other modules may register for work done off HTTP (e.g. a storm's grabs). */
const GRAB_COUNTER = /grab.*_total$/;

interface Totals {
  payments: number;
  paymentsOk: number;
  grabs: number;
  grabsOk: number;
  requests: number;
  buckets: Map<number, number>;
}

/**
 * Samples the app's Prometheus registry (and the job queue's depth) once a second into a
 * bounded rolling window, for GET /v1/operator/dashboard. It runs only while someone
 * watches: started by a request, stopped after IDLE_MS without one.
 */
export class DashboardSampler {
  static readonly INTERVAL_MS = 1000;
  static readonly WINDOW = 300;
  static readonly IDLE_MS = 120_000;
  private readonly samples: DashboardSample[] = [];
  private previous: Totals | undefined;
  private previousAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastRead = 0;
  private sampling = false;

  constructor(
    private readonly metrics: Metrics,
    private readonly jobsBacklog: () => Promise<number>,
  ) {}

  async read(): Promise<DashboardSample[]> {
    this.lastRead = Date.now();
    if (!this.timer) {
      await this.sample();
      this.timer = setInterval(() => void this.tick(), DashboardSampler.INTERVAL_MS);
      this.timer.unref();
    }
    return [...this.samples];
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async tick(): Promise<void> {
    if (Date.now() - this.lastRead > DashboardSampler.IDLE_MS) {
      this.stop();
      this.samples.length = 0;
      this.previous = undefined;
      return;
    }
    if (this.sampling) return;
    this.sampling = true;
    try {
      await this.sample();
    } finally {
      this.sampling = false;
    }
  }

  private async sample(): Promise<void> {
    const now = Date.now();
    const totals = await this.totals();
    const backlog = await this.jobsBacklog().catch(() => 0);
    const previous = this.previous;
    this.previous = totals;
    const seconds = (now - this.previousAt) / 1000;
    this.previousAt = now;
    if (!previous || seconds <= 0) return;
    const delta = (key: 'payments' | 'paymentsOk' | 'grabs' | 'grabsOk' | 'requests') =>
      Math.max(0, totals[key] - previous[key]);
    const attempts = delta('payments') + delta('grabs');
    const buckets = [...totals.buckets].map(([le, count]) => [le, count - (previous.buckets.get(le) ?? 0)]);
    this.samples.push({
      at: new Date(now).toISOString(),
      payments_per_s: round(delta('payments') / seconds),
      grabs_per_s: round(delta('grabs') / seconds),
      requests_per_s: round(delta('requests') / seconds),
      success_rate: attempts ? round((delta('paymentsOk') + delta('grabsOk')) / attempts) : null,
      latency_p50_ms: quantile(buckets as Array<[number, number]>, 0.5),
      latency_p95_ms: quantile(buckets as Array<[number, number]>, 0.95),
      jobs_backlog: backlog,
    });
    if (this.samples.length > DashboardSampler.WINDOW) this.samples.shift();
  }

  private async totals(): Promise<Totals> {
    const totals: Totals = {
      payments: 0,
      paymentsOk: 0,
      grabs: 0,
      grabsOk: 0,
      requests: 0,
      buckets: new Map(),
    };
    // Grabs are counted where they are decided (the grab engine's counter, storms included);
    // without that counter, by the HTTP grab route.
    const engineGrabs = await this.engineGrabs();
    let grabFailures = 0;
    for (const value of (await this.metrics.httpRequests.get()).values) {
      const { method, route, status } = value.labels as { method: string; route: string; status: string };
      const ok = isSuccess(Number(status));
      totals.requests += value.value;
      if (method !== 'POST') continue;
      if (PAYMENT_ROUTE.test(route)) {
        totals.payments += value.value;
        if (ok) totals.paymentsOk += value.value;
      } else if (GRAB_ROUTE.test(route)) {
        if (!engineGrabs) {
          totals.grabs += value.value;
          if (ok) totals.grabsOk += value.value;
        } else if (Number(status) >= 500) grabFailures += value.value;
      }
    }
    if (engineGrabs) {
      totals.grabs = engineGrabs.total + grabFailures;
      totals.grabsOk = engineGrabs.answered;
    }
    for (const value of (await this.metrics.httpDuration.get()).values) {
      if (value.metricName !== 'tuyere_http_request_duration_seconds_bucket') continue;
      const bound = (value.labels as Record<string, string | number>).le;
      const le = bound === '+Inf' ? Number.POSITIVE_INFINITY : Number(bound);
      totals.buckets.set(le, (totals.buckets.get(le) ?? 0) + value.value);
    }
    return totals;
  }

  /** Grab outcomes from a counter the red-envelope module registers (`outcome` label), if any. */
  private async engineGrabs(): Promise<{ total: number; answered: number } | null> {
    let found = false;
    let total = 0;
    let answered = 0;
    // getMetricsAsArray does not run the gauges' collect callbacks (some query the database).
    for (const metric of this.metrics.registry.getMetricsAsArray()) {
      if (String(metric.type) !== 'counter' || !GRAB_COUNTER.test(metric.name)) continue;
      if (metric.name.startsWith('tuyere_http_')) continue;
      const data = await (metric as unknown as Counter).get();
      found = true;
      for (const value of data.values) {
        total += value.value;
        // Every outcome is an answer (all taken, expired...); only lookups of nothing are not.
        if (!['not_found', 'not_active'].includes(String(value.labels.outcome))) answered += value.value;
      }
    }
    return found ? { total, answered } : null;
  }
}

/** A payment or grab succeeded when it was answered 2xx (declines, limits and errors count against the rate). */
function isSuccess(status: number): boolean {
  return status < 400;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/** The q-quantile in ms from cumulative histogram bucket deltas (upper bound of the bucket it falls in). */
export function quantile(buckets: Array<[number, number]>, q: number): number | null {
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  for (const [le, count] of sorted) {
    if (count >= rank) return Number.isFinite(le) ? Math.round(le * 1000 * 10) / 10 : null;
  }
  return null;
}
