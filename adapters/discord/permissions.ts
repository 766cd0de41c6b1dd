import { GuildMember, PermissionFlagsBits, type BaseInteraction, type User } from 'discord.js';
import type { Requester } from '../../src/ports.ts';

/**
 * Who is asking, decided on the server side from what Discord put in the interaction: the
 * member's computed permissions in this channel and their roles. Never from the command's
 * visibility, which a server admin can change.
 */
function isModerator(interaction: BaseInteraction, moderatorRoleId: string | undefined): boolean {
  // `has` counts Administrator as every permission, as Discord does.
  if (interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild) === true) return true;
  if (moderatorRoleId === undefined) return false;
  const member = interaction.member;
  if (member instanceof GuildMember) return member.roles.cache.has(moderatorRoleId);
  // An uncached guild gives the raw API member, whose roles are plain ids.
  return member !== null && member.roles.includes(moderatorRoleId);
}

/**
 * The name Discord shows for this person here: server nickname, global name, username. `member`
 * is a cached GuildMember or, for an uncached guild, the raw API member (which has `nick`).
 */
export function displayNameOf(user: User, member: GuildMember | { readonly nick?: string | null } | null): string {
  if (member instanceof GuildMember) return member.displayName;
  return member?.nick ?? user.globalName ?? user.username;
}

/** The core's Requester for an interaction in a guild. */
export function requesterOf(interaction: BaseInteraction & { guildId: string }, moderatorRoleId: string | undefined): Requester {
  return {
    platform: 'discord',
    communityId: interaction.guildId,
    userId: interaction.user.id,
    displayName: displayNameOf(interaction.user, interaction.member),
    isModerator: isModerator(interaction, moderatorRoleId),
  };
}
