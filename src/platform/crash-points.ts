/**
 * Named crash points on the money paths, for the SIGKILL tests (test/*-crash.test.ts): when
 * the environment variable TUYERE_CRASH_AT names a point, the process kills itself there with
 * SIGKILL (nothing runs after it: no finally, no flush), as a power cut would. Unset in
 * production, where a crash point is a string comparison and nothing else.
 *
 * Names are `<module>.<path>.<step>`, e.g. `wallet.withdrawal.after-hold`; each path's test
 * lists its points, so a renamed point fails that test instead of silently never firing.
 */
export function crashPoint(name: string): void {
  if (process.env.TUYERE_CRASH_AT === name) process.kill(process.pid, 'SIGKILL');
}
