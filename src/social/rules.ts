/** Group rules, pure: sizes, names, who may do what. */
export const GROUP_LIMITS = {
  membersMax: 500,
  nameLengthMax: 64,
  messageLengthMax: 2000,
  inviteBatchMax: 50,
  /** Live group streams one user may hold open at once (all groups, all devices). */
  streamsPerUser: 5,
} as const;

export type MemberRole = 'owner' | 'member';

export type GroupEventType =
  | 'group.created'
  | 'member.joined'
  | 'member.left'
  | 'member.removed'
  | 'message.posted'
  | 'envelope.sent'
  | 'envelope.grabbed'
  | 'envelope.finished'
  | 'envelope.refunded';

/** Any member may invite (as in WeChat groups); only the owner removes others. */
export function mayRemove(actorRole: MemberRole | null, actorId: string, targetId: string): boolean {
  if (actorId === targetId) return actorRole !== null;
  return actorRole === 'owner';
}

/** The owner must hand over or be the last member before leaving. */
export function mayLeave(role: MemberRole | null, memberCount: number): boolean {
  return role === 'member' || (role === 'owner' && memberCount === 1);
}
