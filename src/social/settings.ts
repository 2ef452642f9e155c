import { integer, type SettingSpecs } from '../platform/config.ts';

/** The social module's settings (its slice of the configuration; see src/platform/config.ts). */
export const SOCIAL_SETTINGS = {
  groupMembersMax: {
    env: 'GROUP_MEMBERS_MAX',
    default: '500',
    description: 'Most members in a group chat',
    parse: integer(2, 100_000),
  },
} satisfies SettingSpecs;
