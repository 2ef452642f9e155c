import { integer, type SettingSpecs } from '../platform/config.ts';

/** The redpacket module's settings (its slice of the configuration; see src/platform/config.ts). */
export const REDPACKET_SETTINGS = {
  redpacketGroupMax: {
    env: 'REDPACKET_GROUP_MAX',
    default: '2000000',
    description: 'Largest group red envelope, in fen',
    parse: integer(1, 1_000_000_000),
  },
  redpacketPersonalMax: {
    env: 'REDPACKET_PERSONAL_MAX',
    default: '20000',
    description: 'Largest one-to-one red envelope, in fen',
    parse: integer(1, 1_000_000_000),
  },
  redpacketSharesMax: {
    env: 'REDPACKET_SHARES_MAX',
    default: '100',
    description: 'Most shares in a group envelope (also capped by the group size)',
    parse: integer(1, 10_000),
  },
  redpacketExpiryHours: {
    env: 'REDPACKET_EXPIRY_HOURS',
    default: '24',
    description: 'Hours until unclaimed envelope money returns to the sender',
    parse: integer(1, 24 * 30),
  },
  redpacketCampaignPerGroupHour: {
    env: 'REDPACKET_CAMPAIGN_PER_GROUP_HOUR',
    default: '600',
    description: 'Most campaign envelopes sent into one group in any hour (the campaign rate limit)',
    parse: integer(1, 1_000_000),
  },
} satisfies SettingSpecs;
