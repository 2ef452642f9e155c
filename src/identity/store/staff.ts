import type { Queryable } from '../../platform/db/database.ts';
import type { Role } from '../../platform/http/policy.ts';

/** identity_staff: operator-read, operator-admin and auditor accounts. */
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

const STAFF_COLUMNS = 'id, phone, name, roles, status, created_at';

export async function findStaffByPhone(q: Queryable, phone: string): Promise<StaffRecord | undefined> {
  const { rows } = await q.query<StaffRecord>(
    `SELECT ${STAFF_COLUMNS} FROM identity_staff WHERE phone = $1`,
    [phone],
  );
  return rows[0];
}

export async function getStaff(q: Queryable, staffId: string): Promise<StaffRecord | undefined> {
  const { rows } = await q.query<StaffRecord>(`SELECT ${STAFF_COLUMNS} FROM identity_staff WHERE id = $1`, [
    staffId,
  ]);
  return rows[0];
}

/** False when the phone or id is taken. */
export async function insertStaff(
  q: Queryable,
  staff: { id: string; phone: string; name: string; roles: readonly StaffRole[]; createdAt: Date },
): Promise<boolean> {
  const { rowCount } = await q.query(
    'INSERT INTO identity_staff (id, phone, name, roles, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
    [staff.id, staff.phone, staff.name, staff.roles, staff.createdAt],
  );
  return rowCount === 1;
}
