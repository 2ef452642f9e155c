import { defineModule } from '../platform/module.ts';
import { Groups } from './groups.ts';
import { socialRoutes } from './routes.ts';
import { SOCIAL_SETTINGS } from './settings.ts';

declare module '../platform/module.ts' {
  interface Services {
    social: Groups;
  }
}

export const DEMO_GROUP_NAME = '周末聚餐 Weekend dinners';

/** Group chats: groups, members and each group's live event stream. */
export const socialModule = defineModule({
  name: 'social',
  summary: 'group chats: groups, members, per-group event streams (SSE)',
  migrations: new URL('./migrations/', import.meta.url),
  settings: SOCIAL_SETTINGS,
  create(context) {
    const identity = context.use('identity');
    const groups = new Groups({
      db: context.db,
      clock: context.clock,
      membersMax: context.config.groupMembersMax,
      existingUsers: async (userIds) => {
        const users = await identity.getUsers(userIds);
        return new Set(users.map((user) => user.id));
      },
    });
    return {
      service: groups,
      routes: (http) =>
        socialRoutes(http, {
          groups,
          streams: { sessionActive: (principal) => identity.sessionActive(principal) },
        }),
      async demo(world) {
        const { alice, bob, carol } = world.people;
        if (!alice || !bob || !carol) return;
        const existing = (await groups.listForUser(alice)).find((group) => group.name === DEMO_GROUP_NAME);
        const group = existing ?? (await groups.create(alice, DEMO_GROUP_NAME, [bob, carol]));
        world.notes.push(`Alice, Bob and Carol share the group "${DEMO_GROUP_NAME}" (${group.id}).`);
      },
    };
  },
});
