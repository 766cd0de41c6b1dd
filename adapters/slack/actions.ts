/**
 * Slack's side of the actions on a result (issue 9, item 5): Block Kit buttons on the placeholder
 * message (Cancel while the job waits or runs; Upscale ×2 / ×4 and Vary, with their prices, once the
 * result is posted), the Vary modal (`views.open` with the click's trigger_id, then
 * `view_submission`). Every payload is read through zod; a button's value is the job id and the core
 * reads the job from the database, so old messages and restarts are no different.
 * https://docs.slack.dev/interactivity/handling-user-interaction
 */
import type { App } from '@slack/bolt';
import { z } from 'zod';
import { ACTION_BAD_BUTTON } from '../../src/actions/result-actions.ts';
import type { ResultOffer } from '../../src/actions/ports.ts';
import { asBotError } from '../../src/errors.ts';
import type { Logger } from '../../src/log.ts';
import type { BotCore, ImagineOutcome, Requester } from '../../src/ports.ts';
import { triggerKey, type IsFirstDelivery } from './deliveries.ts';
import { logRefusal } from './imagine-flow.ts';
import { encodePlaceholder } from './placeholder.ts';
import type { ResolveRequester } from './requester.ts';
import type { SlackApi } from './slack-api.ts';
import { acceptedText, escapeMrkdwn } from './texts.ts';
import { formatCredits } from '../../src/credits/messages.ts';

const ACTIONS = ['upscale2', 'upscale4', 'vary', 'cancel'] as const;
const VARY_FORM = 'imagine:varyform';
/** Slack's longest plain_text_input. */
const MAX_INPUT = 3000;
const jobIdSchema = z.string().regex(/^[A-Za-z0-9-]{1,64}$/);

const credits = formatCredits;
const button = (actionId: string, text: string, jobId: string, style?: 'danger') => ({
  type: 'button',
  action_id: actionId,
  value: jobId,
  text: { type: 'plain_text', text },
  ...(style ? { style } : {}),
});

/** The placeholder's blocks: its text, and a Cancel button while the job waits or runs. */
export function cancelBlocks(text: string, jobId: string): unknown[] {
  return [{ type: 'section', text: { type: 'mrkdwn', text } }, { type: 'actions', elements: [button('imagine:cancel', 'Cancel', jobId, 'danger')] }];
}

/** The finished placeholder's blocks: its text and the priced offers. */
export function offerBlocks(text: string, jobId: string, offers: readonly ResultOffer[]): unknown[] {
  const section = { type: 'section', text: { type: 'mrkdwn', text } };
  if (offers.length === 0) return [section];
  return [section, { type: 'actions', elements: offers.map((offer) => button(`imagine:${offer.action}`, `${offer.label} · ${credits(offer.credits)}`, jobId)) }];
}

const blockActionsSchema = z.object({
  type: z.literal('block_actions'),
  team: z.object({ id: z.string().min(1) }),
  user: z.object({ id: z.string().min(1), name: z.string().optional() }),
  channel: z.object({ id: z.string().min(1) }),
  trigger_id: z.string().min(1),
  message: z.object({ ts: z.string(), thread_ts: z.string().optional() }).optional(),
  actions: z.array(z.object({ action_id: z.string(), value: z.string().optional() })).min(1),
});

const viewSubmissionSchema = z.object({
  type: z.literal('view_submission'),
  team: z.object({ id: z.string().min(1) }),
  user: z.object({ id: z.string().min(1), name: z.string().optional() }),
  trigger_id: z.string().min(1),
  view: z.object({
    callback_id: z.literal(VARY_FORM),
    private_metadata: z.string(),
    state: z.object({ values: z.object({ prompt: z.object({ prompt: z.object({ value: z.string().max(MAX_INPUT).nullable().optional() }) }) }) }),
  }),
});
const metadataSchema = z.object({ jobId: jobIdSchema, channel: z.string().min(1), thread: z.string().min(1).nullable() });

export interface SlackActionDeps {
  readonly api: SlackApi;
  readonly core: BotCore;
  readonly log: Logger;
  readonly resolveRequester: ResolveRequester;
  readonly isFirstDelivery: IsFirstDelivery;
}

/** Listen for the buttons and the Vary form on `app`. */
export function registerSlackActions(app: App, deps: SlackActionDeps): void {
  const { api, core, log } = deps;
  app.action(/^imagine:/, async ({ ack, body }) => {
    await ack();
    const parsed = blockActionsSchema.safeParse(body);
    if (!parsed.success) return log.warn('slack action we could not read', { issues: parsed.error.issues.map((issue) => issue.path.join('.')) });
    const click = parsed.data;
    // A click delivered twice must not upscale twice (or answer twice).
    if (!(await deps.isFirstDelivery(triggerKey(click.trigger_id)))) return;
    const [first] = click.actions;
    const action = z.enum(ACTIONS).safeParse(first?.action_id.slice('imagine:'.length));
    const jobId = jobIdSchema.safeParse(first?.value);
    const tell = (text: string) => api.postEphemeral({ channel: click.channel.id, user: click.user.id, text: escapeMrkdwn(text), threadTs: click.message?.thread_ts ?? null });
    if (!action.success || !jobId.success) {
      logRefusal(log, ACTION_BAD_BUTTON.code, { team: click.team.id, user: click.user.id });
      return tell(ACTION_BAD_BUTTON.userMessage);
    }
    const admission = await core.admission('slack', click.team.id);
    if (!admission.ok) return tell(admission.failure.userMessage);
    const requester = await deps.resolveRequester(click.team.id, click.user.id, click.user.name);
    const location = { channel: click.channel.id, thread: click.message?.thread_ts ?? null };
    switch (action.data) {
      case 'cancel': {
        const outcome = await core.cancel(requester, jobId.data);
        if (!outcome.ok) logRefusal(log, outcome.code, { team: click.team.id, user: click.user.id });
        return tell(outcome.reply.text);
      }
      case 'upscale2':
      case 'upscale4': {
        const factor = action.data === 'upscale2' ? 2 : 4;
        return runAction(deps, requester, location, `Upscale ×${factor}`, (placeholder) => core.upscale(requester, jobId.data, factor, placeholder));
      }
      case 'vary': {
        const draft = await core.varyDraft(requester, jobId.data);
        if (!draft.ok) {
          logRefusal(log, draft.code, { team: click.team.id, user: click.user.id });
          return tell(draft.reply.text);
        }
        return api.openView({
          triggerId: click.trigger_id,
          view: {
            type: 'modal',
            callback_id: VARY_FORM,
            private_metadata: JSON.stringify({ jobId: jobId.data, ...location }),
            title: { type: 'plain_text', text: `Vary · ${credits(draft.priceCredits)}`.slice(0, 24) },
            submit: { type: 'plain_text', text: 'Vary' },
            close: { type: 'plain_text', text: 'Cancel' },
            blocks: [
              {
                type: 'input',
                block_id: 'prompt',
                label: { type: 'plain_text', text: 'Prompt (edit it, or keep it)' },
                element: { type: 'plain_text_input', action_id: 'prompt', multiline: true, max_length: MAX_INPUT, initial_value: draft.prompt.slice(0, MAX_INPUT) },
              },
            ],
          },
        });
      }
      default:
        return undefined;
    }
  });

  app.view(VARY_FORM, async ({ ack, body }) => {
    await ack();
    const parsed = viewSubmissionSchema.safeParse(body);
    const metadata = parsed.success ? metadataSchema.safeParse(safeJson(parsed.data.view.private_metadata)) : null;
    if (!parsed.success || !metadata?.success) return log.warn('slack form we could not read', { code: ACTION_BAD_BUTTON.code });
    const form = parsed.data;
    if (!(await deps.isFirstDelivery(triggerKey(form.trigger_id)))) return;
    const admission = await core.admission('slack', form.team.id);
    if (!admission.ok) return;
    const requester = await deps.resolveRequester(form.team.id, form.user.id, form.user.name);
    const prompt = form.view.state.values.prompt.prompt.value ?? '';
    const { jobId, channel, thread } = metadata.data;
    await runAction(deps, requester, { channel, thread }, prompt, (placeholder) => core.vary(requester, jobId, prompt, placeholder));
  });
}

/** Post the placeholder, hand it to the core; a refusal removes it and is told to the member alone. */
async function runAction(
  deps: SlackActionDeps,
  requester: Requester,
  location: { channel: string; thread: string | null },
  what: string,
  act: (placeholder: string) => Promise<ImagineOutcome>,
): Promise<void> {
  const { api, log } = deps;
  const head = `<@${requester.userId}> asked for “${escapeMrkdwn(what.length > 150 ? `${what.slice(0, 149)}…` : what)}”`;
  const posted = await api.postMessage({ channel: location.channel, threadTs: location.thread, text: acceptedText(head) });
  const placeholder = encodePlaceholder({ team: requester.communityId, channel: posted.channel, ts: posted.ts, thread: location.thread, user: requester.userId, head });
  const outcome = await act(placeholder).catch((error: unknown): ImagineOutcome => {
    const botError = asBotError(error);
    return { ok: false, code: botError.code, reply: { visibility: 'private', text: botError.userMessage } };
  });
  if (outcome.ok) return;
  logRefusal(log, outcome.code, { team: requester.communityId, user: requester.userId });
  await api.deleteMessage({ channel: posted.channel, ts: posted.ts }).catch((error: unknown) => log.warn('slack placeholder delete failed', { error }));
  await api.postEphemeral({ channel: location.channel, user: requester.userId, text: escapeMrkdwn(outcome.reply.text), threadTs: location.thread });
}

function safeJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}
