import type { TuyereApp } from '../app.ts';
import { verifyAuditChain } from '../identity/index.ts';
import { MIGRATION_SOURCES } from '../modules.ts';
import { pendingMigrations } from '../platform/db/migrate.ts';
import { verifyRedpackets } from '../redpacket/index.ts';
import { verifyWallet } from '../wallet/verify.ts';

/** One named check of `tuyere verify`; modules add theirs to VERIFY_CHECKS. */
export interface VerifyCheck {
  name: string;
  ok: boolean;
  violations: string[];
}
export interface VerifyReport {
  ok: boolean;
  checks: VerifyCheck[];
  text: string;
}

type Checker = (app: TuyereApp) => Promise<VerifyCheck[]>;

const VERIFY_CHECKS: Checker[] = [
  async (app) => {
    const violations = await verifyRedpackets(app.db, app.ledger);
    return [
      {
        name: 'redpacket: shares, grabs, refunds and escrows agree',
        ok: violations.length === 0,
        violations,
      },
    ];
  },
  async (app) => {
    const report = await verifyAuditChain(app.db);
    return [
      {
        name: `identity: audit log hash chain (${report.checked} entries)`,
        ok: report.ok,
        violations: report.violations,
      },
    ];
  },
  async (app) => {
    const report = await app.ledger.verify();
    return report.checks.map((check) => ({
      name: `ledger: ${check.name}`,
      ok: check.ok,
      violations: report.violations.filter((v) => v.check === check.name).map((v) => v.message),
    }));
  },
  async (app) => verifyWallet(app.db, app.ledger, app.clock.now()),
  async (app) => {
    const pending = await pendingMigrations(app.db, MIGRATION_SOURCES);
    return [
      {
        name: 'migrations current',
        ok: pending.length === 0,
        violations: pending.map((m) => `pending: ${m}`),
      },
    ];
  },
];

export async function runVerify(app: TuyereApp): Promise<VerifyReport> {
  const checks = (await Promise.all(VERIFY_CHECKS.map((check) => check(app)))).flat();
  const ok = checks.every((check) => check.ok);
  const lines = checks.map((check) => {
    const head = `${check.ok ? 'PASS' : 'FAIL'}  ${check.name}`;
    const shown = check.violations.slice(0, 20).map((v) => `        ${v}`);
    if (check.violations.length > 20) shown.push(`        ... and ${check.violations.length - 20} more`);
    return [head, ...shown].join('\n');
  });
  lines.push(
    '',
    ok
      ? `All ${checks.length} checks passed.`
      : `${checks.filter((c) => !c.ok).length} of ${checks.length} checks FAILED.`,
  );
  return { ok, checks, text: lines.join('\n') };
}
