/** The social module's public API: group chats. Other modules use the Groups service, never social's tables. */
export { type Group, type GroupEvent, Groups, type Member } from './groups.ts';
export { DEMO_GROUP_NAME, socialModule } from './module.ts';
export type { GroupEventType, MemberRole } from './rules.ts';
export type { NewGroupEvent } from './store.ts';
