import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

/**
 * A start-up failure someone can fix: its message is one paragraph saying what went wrong and
 * what to do. The CLI prints it without a stack trace and exits 1.
 */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

const PG_CONNECTION_CODES: Record<string, string> = {
  ECONNREFUSED: 'nothing is listening there',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name does not resolve (DNS is not answering)',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'the host is unreachable',
  ECONNRESET: 'the server closed the connection',
  '28P01': 'the password was refused',
  '28000': 'the server refused this user',
  '3D000': 'the database does not exist',
};

/** The URL with its password hidden, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:@/]*:)[^@/]*@/, '$1***@');
}

/**
 * Turns the start-up failures we can foresee into a StartupError with advice; returns
 * undefined for anything else (a bug, whose stack is worth seeing).
 */
export function explainStartupFailure(
  error: unknown,
  where: { port?: number; databaseUrl?: string; dataDir?: string },
): StartupError | undefined {
  if (error instanceof StartupError) return error;
  const failure = error as NodeJS.ErrnoException & { address?: string; port?: number };
  const code = failure?.code;
  if (code === 'EADDRINUSE') {
    const port = failure.port ?? where.port;
    return new StartupError(
      `Port ${port} is already in use (another Tuyere, or another program, is listening on it). ` +
        'Stop that program, or give this one another port: PORT for the API, BANK_SANDBOX_PORT for the sandbox bank ' +
        `(e.g. PORT=${(port ?? 8080) + 1} npm start).`,
    );
  }
  if (code === 'EACCES' && failure.syscall === 'listen')
    return new StartupError(
      `Not allowed to listen on port ${failure.port ?? where.port}: ports below 1024 need privileges. Set PORT to 1024 or above.`,
    );
  if (code === 'ENOSPC' || code === 'EDQUOT')
    return new StartupError(
      `The disk is full${failure.path ? ` (writing ${failure.path})` : ''}. Free some space, or point TUYERE_DATA_DIR at a disk with room, then start again.`,
    );
  if (code && PG_CONNECTION_CODES[code] && where.databaseUrl)
    return new StartupError(
      `Cannot use the database at DATABASE_URL=${redactUrl(where.databaseUrl)}: ${PG_CONNECTION_CODES[code]} (${failure.message}). ` +
        'Check that PostgreSQL 15 or newer runs there and accepts this user, or unset DATABASE_URL to use the embedded PostgreSQL.',
    );
  return undefined;
}

/**
 * The first folder on the way to `target` that the user `postgres` (which the embedded
 * server runs as when Tuyere runs as root) cannot enter, or undefined. Root's home directory
 * (mode 0700) is the usual one. Checks the "others" execute bit: postgres is neither the
 * owner (root) nor, normally, in root's group.
 */
export function folderClosedToOthers(target: string): string | undefined {
  let folder = path.resolve(target);
  const chain: string[] = [];
  for (;;) {
    chain.unshift(folder);
    const parent = path.dirname(folder);
    if (parent === folder) break;
    folder = parent;
  }
  for (const step of chain) {
    let mode: number;
    try {
      mode = statSync(step).mode;
    } catch {
      return undefined; // not created yet: its parent was fine, and we create it open enough
    }
    if ((mode & 0o001) === 0) return step;
  }
  return undefined;
}

/** True when this process may write into `folder` (or create it, if its nearest existing parent is writable). */
export function writable(folder: string): boolean {
  let current = path.resolve(folder);
  for (;;) {
    try {
      accessSync(current, constants.W_OK);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return false;
      const parent = path.dirname(current);
      if (parent === current) return false;
      current = parent;
    }
  }
}
