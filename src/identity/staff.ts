import type { Queryable } from '../platform/db/database.ts';
import { conflict, invalid } from '../platform/errors.ts';
import type { Role } from '../platform/http/policy.ts';
import { uuidv7 } from '../platform/ids.ts';
import { appendAudit } from './audit.ts';
import type { IdentityContext } from './context.ts';
import { assertPhone } from './sms-codes.ts';

/** Staff accounts (operator-read, operator-admin, auditor); they sign in by SMS like users. */
export const STAFF_ROLES = ['operator-read', 'operator-admin', 'auditor'] as const satisfies readonly Role[];
export type StaffRole = (typeof STAFF_ROLES)[number];

export type StaffRecord = {
  id: string;
  phone: string;
  name: string;
  roles: StaffRole[];
  status: 'active' | 'disabled';
  created_at: Date;
};

export async function findStaffByPhone(db: Queryable, phone: string): Promise<StaffRecord | undefined> {
  const { rows } = await db.query<StaffRecord>(
    'SELECT id, phone, name, roles, status, created_at FROM identity_staff WHERE phone = $1',
    [phone],
  );
  return rows[0];
}

export async function getStaff(db: Queryable, staffId: string): Promise<StaffRecord | undefined> {
  const { rows } = await db.query<StaffRecord>(
    'SELECT id, phone, name, roles, status, created_at FROM identity_staff WHERE id = $1',
    [staffId],
  );
  return rows[0];
}

export function staffView(staff: StaffRecord) {
  return {
    id: staff.id,
    name: staff.name,
    roles: staff.roles,
    status: staff.status,
    created_at: staff.created_at.toISOString(),
  };
}

export async function createStaff(
  context: IdentityContext,
  input: { phone: string; name: string; roles: readonly StaffRole[]; id?: string },
  actor: string,
): Promise<StaffRecord> {
  assertPhone(input.phone);
  if (input.roles.length === 0) throw invalid('roles_required', 'Give the staff account at least one role.');
  const now = context.clock.now();
  const id = input.id ?? uuidv7(now.getTime());
  await context.db.transaction(async (tx) => {
    const { rowCount } = await tx.query(
      'INSERT INTO identity_staff (id, phone, name, roles, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
      [id, input.phone, input.name, [...new Set(input.roles)], now],
    );
    if (rowCount !== 1)
      throw conflict('staff_exists', 'A staff account with this phone or id already exists.');
    await appendAudit(tx, now, {
      actor,
      action: 'staff.created',
      subject: `operator:${id}`,
      details: { roles: [...input.roles] },
    });
  });
  return (await getStaff(context.db, id))!;
}
