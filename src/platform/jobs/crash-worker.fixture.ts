// Child process for queue.test.ts: claims the job, does half its work, announces it, and
// waits to be killed with SIGKILL.
import { systemClock } from '../clock.ts';
import { Database } from '../db/database.ts';
import { createLogger } from '../log.ts';
import { JobQueue } from './queue.ts';

const db = new Database({ url: process.env.CRASH_DB_URL!, poolMax: 4 });
const queue = new JobQueue({
  db,
  clock: systemClock,
  log: createLogger({ level: 'silent' }),
  timeZone: 'UTC',
});
queue.register('test.effect', async (job, { tx }) => {
  await tx!.query('INSERT INTO job_effects (job_id) VALUES ($1)', [job.id]);
  console.log('MID_JOB');
  await new Promise(() => {}); // never finishes: the parent kills us here
});
await queue.drain(1);
