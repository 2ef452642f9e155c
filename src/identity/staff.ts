import { conflict, invalid } from '../platform/errors.ts';
import { uuidv7 } from '../platform/ids.ts';
import { appendAudit } from './audit.ts';
import type { IdentityContext } from './context.ts';
import { assertPhone } from './sms-codes.ts';
import { getStaff, insertStaff, type StaffRecord, type StaffRole } from './store/staff.ts';

/** Staff accounts (operator-read, operator-admin, auditor); they sign in by SMS like users. */
export { findStaffByPhone, STAFF_ROLES, type StaffRole } from './store/staff.ts';

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
    const created = await insertStaff(tx, {
      id,
      phone: input.phone,
      name: input.name,
      roles: [...new Set(input.roles)],
      createdAt: now,
    });
    if (!created) throw conflict('staff_exists', 'A staff account with this phone or id already exists.');
    await appendAudit(tx, now, {
      actor,
      action: 'staff.created',
      subject: `operator:${id}`,
      details: { roles: [...input.roles] },
    });
  });
  return (await getStaff(context.db, id))!;
}
