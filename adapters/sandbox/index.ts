import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { parseQuotaText } from '../../src/commands/quota-text.ts';
import { asBotError } from '../../src/errors.ts';
import { imagineHelpText } from '../../src/imagine/help.ts';
import { parseImagineText } from '../../src/imagine/text-command.ts';
import type { BotCore, ImagineOptionsInput, Requester } from '../../src/ports.ts';
import { fileReference } from './file-reference.ts';
import { sandboxPlaceholder, SandboxSurface } from './surface.ts';

export interface SandboxOptions {
  readonly core: BotCore;
  readonly outputDir: string;
  readonly input: Readable;
  readonly output: Writable;
  /** True when a person is typing: show a prompt. False when a script pipes commands in. */
  readonly interactive: boolean;
  /** Requests already made in earlier runs: numbering goes on from there, so a recovered #3 is not confused with a new one. */
  readonly previousRequests: number;
}

const OPERATOR = 'operator';

const HELP = [
  'Commands:',
  '  /imagine <prompt> [--model m] [--ratio 16:9] [--seed n] [--count 4] [--ref ./image.png]… [--tags a b c]',
  '  /history               your last 10 images (also `/imagine history`)',
  '  /credits [user]        your balance (or another user\'s)',
  '  /quota …               moderator commands: set, grant, allowance, cap, report (`/quota help`)',
  '  /as <user>             act as another (non-moderator) user; `/as operator` to come back',
  '  /help  /quit',
].join('\n');

/**
 * The terminal adapter: the whole bot with no chat platform. The operator is the moderator of a
 * single community, `sandbox`. Reads commands line by line (typed, or piped from a script).
 */
export function startSandbox(options: SandboxOptions): { surface: SandboxSurface; done: Promise<void> } {
  const print = (line: string) => options.output.write(`${line}\n`);
  // Job updates arrive while the user may be at the prompt: clear that line, print, show the prompt again.
  const printAsync = options.interactive ? (line: string) => options.output.write(`\r\x1b[K${line}\nimagine> `) : print;
  const surface = new SandboxSurface(options.outputDir, printAsync);
  let requestCount = options.previousRequests;
  let actingAs = OPERATOR;
  const requester = (): Requester => ({
    platform: 'sandbox',
    communityId: 'sandbox',
    userId: actingAs,
    displayName: actingAs,
    isModerator: actingAs === OPERATOR,
  });

  const lines = createInterface({ input: options.input, terminal: false });
  const prompt = () => options.interactive && options.output.write('imagine> ');

  async function handle(line: string): Promise<boolean> {
    const text = line.trim();
    if (text === '') return true;
    const [command = '', ...rest] = text.split(/\s+/);
    const args = text.slice(command.length).trim();
    switch (command.toLowerCase()) {
      case '/imagine':
      case 'imagine':
        if (args.toLowerCase() === 'history') print(await history());
        else await imagine(args);
        return true;
      case '/history':
        print(await history());
        return true;
      case '/credits':
        print((await options.core.credits(requester(), rest[0] ? { userId: rest[0], displayName: rest[0] } : undefined)).text);
        return true;
      case '/quota': {
        const parsed = parseQuotaText(args, (token) => ({ userId: token.replace(/^@/, ''), userName: token.replace(/^@/, '') }));
        print(parsed.ok ? (await options.core.quota(requester(), parsed.command)).text : parsed.failure.userMessage);
        return true;
      }
      case '/as':
        actingAs = rest[0]?.replace(/^@/, '') || OPERATOR;
        print(`Now acting as ${actingAs}${actingAs === OPERATOR ? ' (moderator)' : ''}.`);
        return true;
      case '/help':
      case 'help':
        print(HELP);
        return true;
      case '/quit':
      case '/exit':
        return false;
      default:
        print(`Unknown command \`${command.slice(0, 40)}\`. Type /help for the list.`);
        return true;
    }
  }

  async function history(): Promise<string> {
    const outcome = await options.core.history(requester());
    if (!outcome.ok) return outcome.reply.text;
    if (outcome.entries.length === 0) return 'No images yet. Try `/imagine a koi pond at dawn`.';
    return outcome.entries
      .map((e, i) => {
        const prompt = e.prompt.replace(/\s+/g, ' ');
        const clipped = prompt.length > 80 ? `${prompt.slice(0, 79)}…` : prompt;
        return `${i + 1}. "${clipped}" · ${e.modelLabel}${e.images > 1 ? ` · ${e.images} images` : ''} · ${e.costCredits} credits · ${new Date(e.deliveredAt).toISOString()}${e.link ? ` · ${e.link}` : ''}`;
      })
      .join('\n');
  }

  async function imagine(args: string): Promise<void> {
    const parsed = parseImagineText(args);
    if (!parsed.ok) return void print(parsed.failure.userMessage);
    if (parsed.kind === 'help') return void print(imagineHelpText());
    let references: ImagineOptionsInput['references'];
    try {
      references = await Promise.all(parsed.refs.map((path) => fileReference(path)));
    } catch (error) {
      return void print(asBotError(error).userMessage);
    }
    const request: ImagineOptionsInput = { prompt: parsed.prompt, model: parsed.model, ratio: parsed.ratio, seed: parsed.seed, count: parsed.count, tags: parsed.tags, references };
    const check = await options.core.checkImagine(requester(), request);
    if (!check.ok) return void print(check.reply.text);
    const number = ++requestCount;
    const outcome = await options.core.imagine(requester(), request, sandboxPlaceholder(number, parsed.prompt));
    if (!outcome.ok) return void print(outcome.reply.text);
    print(`[#${number}] accepted: ${outcome.reservedCredits} credits held, position ${outcome.position || 1} in the queue (job ${outcome.jobId})`);
  }

  const done = (async () => {
    prompt();
    for await (const line of lines) {
      let keepGoing = true;
      try {
        keepGoing = await handle(line);
      } catch (error) {
        print(asBotError(error).userMessage);
      }
      if (!keepGoing) break;
      prompt();
    }
    lines.close();
  })();

  return { surface, done };
}
