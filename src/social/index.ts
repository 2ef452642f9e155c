export { type Group, type GroupEvent, Groups, type Member, type NewGroupEvent } from './groups.ts';
export { eventJson, groupJson, groupMemberPolicy, socialRoutes } from './routes.ts';
export { GROUP_LIMITS, type GroupEventType, type MemberRole } from './rules.ts';
