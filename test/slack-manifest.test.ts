/** The Slack app manifests in the repo ask for what the adapter uses: its commands, its event, its scopes. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const manifestSchema = z.object({
  features: z.object({ slash_commands: z.array(z.object({ command: z.string(), url: z.string().optional(), should_escape: z.boolean() })) }),
  oauth_config: z.object({ scopes: z.object({ bot: z.array(z.string()) }) }),
  settings: z.object({ event_subscriptions: z.object({ request_url: z.string().optional(), bot_events: z.array(z.string()) }), socket_mode_enabled: z.boolean() }),
});

const read = (name: string) => manifestSchema.parse(JSON.parse(readFileSync(new URL(`../adapters/slack/${name}`, import.meta.url), 'utf8')));

describe('Slack app manifests', () => {
  it.each([
    ['manifest.json', false],
    ['manifest.socket-mode.json', true],
  ])('%s declares the commands, the app_mention event and the scopes the adapter needs', (name, isSocketMode) => {
    const manifest = read(name);
    expect(manifest.features.slash_commands.map((c) => c.command).sort()).toEqual(['/credits', '/imagine', '/quota']);
    // /credits @user and /quota set @user need member ids, which Slack sends only with escaping on.
    expect(manifest.features.slash_commands.filter((c) => c.should_escape).map((c) => c.command).sort()).toEqual(['/credits', '/quota']);
    expect(manifest.settings.event_subscriptions.bot_events).toEqual(['app_mention']);
    expect(manifest.oauth_config.scopes.bot.sort()).toEqual(['app_mentions:read', 'chat:write', 'commands', 'files:read', 'files:write', 'users:read']);
    expect(manifest.settings.socket_mode_enabled).toBe(isSocketMode);
    // Three commands and the events: all on the one endpoint over HTTP, none in Socket Mode.
    const urls = [...manifest.features.slash_commands.map((c) => c.url), manifest.settings.event_subscriptions.request_url];
    expect(urls).toEqual(Array.from({ length: 4 }, () => (isSocketMode ? undefined : 'https://YOUR-BOT-HOST/slack/events')));
  });
});
