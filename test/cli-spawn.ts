import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Spawning the `tuyere` CLI as an operator would (tests of start-up behaviour). */
export const TUYERE_BIN = new URL('../bin/tuyere.js', import.meta.url).pathname;

export function tempDataDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'tuyere-cli-'));
}

/** Runs a command to completion. NODE_ENV is the development profile unless `env` sets it. */
export function tuyere(args: string[], env: Record<string, string | undefined> = {}) {
  const result = spawnSync(process.execPath, [TUYERE_BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NODE_ENV: 'development', TUYERE_DATA_DIR: tempDataDir(), ...env },
    timeout: 90_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** True when the text looks like a stack trace (what a start-up failure must never print). */
export function hasStackTrace(text: string): boolean {
  return /^\s+at .+\(.+:\d+:\d+\)$/m.test(text) || /^\s+at .+:\d+:\d+$/m.test(text);
}

/**
 * Starts `tuyere serve` and waits for its banner; resolves with the API's base URL, or
 * rejects with what it printed if it exits first.
 */
export async function startServe(
  env: Record<string, string | undefined>,
): Promise<{ base: string; banner: string; child: ChildProcess; stop(): Promise<number | null> }> {
  const child = spawn(process.execPath, [TUYERE_BIN, 'serve'], {
    env: { ...process.env, NODE_ENV: 'development', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner within 90 s:\n${output}`)), 90_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /API:\s+(http:\/\/\S+)\/v1/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before its banner:\n${output}`));
    });
  });
  return {
    base,
    banner: output,
    child,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}
