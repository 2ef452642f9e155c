import type { DemoWorld } from '../platform/module.ts';
import { makeChineseId } from './chinese-id.ts';
import type { Identity } from './identity.ts';
import { createStaff, findStaffByPhone } from './staff.ts';
import { findOrCreateUser, verifyRealName } from './users.ts';

/** Demo people. ID numbers are sandbox ones (sequence 996 gives 3 sources, so class II). */
export const DEMO_PEOPLE = {
  alice: {
    phone: '13800000001',
    name: '张丽',
    idNumber: makeChineseId('110101', '19900307', '123'),
    requestedClass: 3 as const,
  },
  bob: {
    phone: '13800000002',
    name: '王博',
    idNumber: makeChineseId('310104', '19880815', '996'),
    requestedClass: 2 as const,
  },
  carol: {
    phone: '13800000003',
    name: '李娜',
    idNumber: makeChineseId('440106', '19950620', '996'),
    requestedClass: 2 as const,
  },
  operator: { phone: '13700000001', name: 'Olivia (operations)' },
  auditor: { phone: '13700000002', name: 'Arthur (audit)' },
};

/** Seeds Alice (class III), Bob and Carol (class II) and two staff accounts. Idempotent. */
export async function seedIdentityDemo(identity: Identity, world: DemoWorld): Promise<void> {
  const context = identity.context;
  for (const [first, person] of Object.entries({
    alice: DEMO_PEOPLE.alice,
    bob: DEMO_PEOPLE.bob,
    carol: DEMO_PEOPLE.carol,
  })) {
    const { user } = await findOrCreateUser(context, person.phone);
    world.people[first] = user.id;
    if (!user.verified_at) {
      await verifyRealName(context, user.id, {
        name: person.name,
        idNumber: person.idNumber,
        requestedClass: person.requestedClass,
      });
    }
  }
  const staff = [
    { ...DEMO_PEOPLE.operator, roles: ['operator-read', 'operator-admin'] as const },
    { ...DEMO_PEOPLE.auditor, roles: ['auditor'] as const },
  ];
  for (const member of staff) {
    if (!(await findStaffByPhone(context.db, member.phone))) {
      await createStaff(
        context,
        { phone: member.phone, name: member.name, roles: member.roles },
        'system:demo',
      );
    }
  }
  // Users' codes are in the sandbox inbox (operator token); staff codes never are: the
  // server's own CLI reads those from the database.
  const sms = (phone: string, purpose: string) =>
    `POST /v1/auth/sms-codes {"phone":"${phone}","purpose":"${purpose}"}, read the code ${
      purpose === 'login'
        ? `at GET /v1/sandbox/sms?phone=${phone} (operator token)`
        : `with \`npx tuyere sandbox-sms --phone ${phone}\``
    }, then POST /v1/auth/${purpose === 'login' ? 'login' : 'staff/login'} {"phone":"${phone}","code":"<code>"}`;
  world.logins.push(
    {
      who: `Alice ${DEMO_PEOPLE.alice.phone} (class III, real-name verified)`,
      how: sms(DEMO_PEOPLE.alice.phone, 'login'),
    },
    { who: `Bob ${DEMO_PEOPLE.bob.phone} (class II)`, how: sms(DEMO_PEOPLE.bob.phone, 'login') },
    { who: `Carol ${DEMO_PEOPLE.carol.phone} (class II)`, how: sms(DEMO_PEOPLE.carol.phone, 'login') },
    {
      who: `Olivia ${DEMO_PEOPLE.operator.phone} (operator-read, operator-admin)`,
      how: sms(DEMO_PEOPLE.operator.phone, 'staff_login'),
    },
    {
      who: `Arthur ${DEMO_PEOPLE.auditor.phone} (auditor)`,
      how: sms(DEMO_PEOPLE.auditor.phone, 'staff_login'),
    },
  );
}
