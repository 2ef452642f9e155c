import type { FastifyInstance } from 'fastify';
import type { Identity } from '../identity/index.ts';
import type { ChartOfAccounts } from '../platform/chart.ts';
import type { JobQueue } from '../platform/jobs/queue.ts';
import type { Metrics } from '../platform/metrics.ts';
import { type Wallet, WalletAccounts, walletAccount } from '../wallet/index.ts';
import { DashboardSampler } from './dashboard.ts';

const UUID = {
  type: 'string',
  pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$',
} as const;
const NULLABLE_NUMBER = { type: ['number', 'null'] } as const;

export interface ConsoleApiDeps {
  metrics: Metrics;
  jobs: JobQueue;
  identity: Identity;
  wallet: Wallet;
  chart: ChartOfAccounts;
}

/**
 * The small API the web apps need beyond the modules' own: the console's live dashboard,
 * the ledger explorer's well-known account ids, and the wallet's recipient lookup (so a
 * passkey payment challenge can name the payee before the transfer is sent).
 */
export async function consoleApiRoutes(app: FastifyInstance, deps: ConsoleApiDeps) {
  const sampler = new DashboardSampler(deps.metrics, async () =>
    (await deps.jobs.depth())
      .filter((row) => row.state === 'queued' || row.state === 'pending' || row.state === 'running')
      .reduce((sum, row) => sum + row.count, 0),
  );
  app.addHook('onClose', async () => sampler.stop());

  app.get(
    '/v1/operator/dashboard',
    {
      config: { policy: { roles: ['operator-read', 'operator-admin'] } },
      schema: {
        tags: ['console'],
        summary:
          'Live dashboard: a rolling time series sampled once a second (payments, grabs, latency, jobs)',
        response: {
          200: {
            type: 'object',
            properties: {
              interval_ms: { type: 'integer' },
              samples: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    at: { type: 'string', format: 'date-time' },
                    payments_per_s: { type: 'number' },
                    grabs_per_s: { type: 'number' },
                    requests_per_s: { type: 'number' },
                    success_rate: NULLABLE_NUMBER,
                    latency_p50_ms: NULLABLE_NUMBER,
                    latency_p95_ms: NULLABLE_NUMBER,
                    jobs_backlog: { type: 'integer' },
                  },
                },
              },
            },
          },
        },
      },
    },
    async () => ({ interval_ms: DashboardSampler.INTERVAL_MS, samples: await sampler.read() }),
  );

  app.get(
    '/v1/operator/ledger-accounts',
    {
      config: { policy: { roles: ['operator-read', 'operator-admin'] } },
      schema: {
        tags: ['console'],
        summary:
          'Well-known ledger account ids: the system accounts, and a user’s wallet when user_id is given',
        querystring: { type: 'object', additionalProperties: false, properties: { user_id: UUID } },
        response: {
          200: {
            type: 'object',
            properties: {
              accounts: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { kind: { type: 'string' }, code: { type: 'integer' }, id: UUID },
                },
              },
            },
          },
        },
      },
    },
    async (request) => {
      const { user_id: userId } = request.query as { user_id?: string };
      const wallet = userId
        ? [{ kind: 'userWallet', code: WalletAccounts.userWallet, id: walletAccount(userId) }]
        : [];
      return { accounts: [...wallet, ...deps.chart.systemAccounts] };
    },
  );

  app.get(
    '/v1/recipients',
    {
      config: { policy: { roles: ['user'] }, rateLimit: { max: 30, timeWindow: 60_000 } },
      schema: {
        tags: ['wallet'],
        summary: 'Find who a phone number belongs to before sending money (masked; not yourself)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['phone'],
          properties: { phone: { type: 'string', pattern: '^1[0-9]{10}$' } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              user_id: UUID,
              phone_masked: { type: 'string' },
              real_name: { type: ['string', 'null'] },
            },
          },
        },
      },
    },
    async (request) => {
      const { phone } = request.query as { phone: string };
      const userId = await deps.wallet.recipientOf(request.principal!.id, { phone });
      const user = (await deps.identity.getUser(userId))!;
      return {
        user_id: userId,
        phone_masked: `${phone.slice(0, 3)}****${phone.slice(-4)}`,
        real_name: user.real_name ? maskName(user.real_name) : null,
      };
    },
  );
}

/** Only the surname's first character shows, as on a payment confirmation screen: 张** */
function maskName(name: string): string {
  const characters = [...name];
  return characters[0] + '*'.repeat(Math.max(1, characters.length - 1));
}
