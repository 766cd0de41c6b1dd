import type { FormPart } from './multipart.ts';

/** What the fake remembers; tests read it through FakeDiscord's accessors. */

export interface FakeUser {
  readonly id: string;
  readonly username: string;
  readonly global_name?: string | null;
}

export interface FakeRole {
  readonly id: string;
  readonly name: string;
  /** Permission bits as a decimal string, as Discord sends them. */
  readonly permissions: string;
}

export interface FakeGuild {
  readonly id: string;
  readonly name: string;
  readonly channelIds: readonly string[];
  readonly roles: readonly FakeRole[];
}

export interface FakeAttachmentFile {
  readonly id: string;
  readonly filename: string;
  readonly contentType: string | null;
  readonly bytes: Buffer;
}

export interface FakeMessage {
  readonly id: string;
  readonly channelId: string;
  content: string;
  flags: number;
  components: unknown[];
  attachments: FakeAttachmentFile[];
  /** Set when an interaction response or follow-up created it. */
  readonly interactionToken: string | null;
  readonly nonce: string | null;
  /** How many times the message was edited after creation. */
  edits: number;
  deleted: boolean;
}

export interface FakeInteraction {
  readonly id: string;
  readonly token: string;
  readonly type: number;
  readonly guildId: string | null;
  readonly channelId: string;
  readonly userId: string;
  /** For button clicks: the message the button sits on. */
  readonly componentMessageId: string | null;
  /** The interaction's callback type once answered (5 = deferred, 4 = reply, 6 = deferred update…). */
  callbackType: number | null;
  /** The message @original points at. */
  originalMessageId: string | null;
  expired: boolean;
  /** Autocomplete choices, if it was an autocomplete interaction. */
  choices: unknown[] | null;
  /** The modal the bot answered with (callback type 9), if any. */
  modal?: Record<string, unknown>;
}

export interface RecordedRequest {
  readonly seq: number;
  readonly method: string;
  /** Path after `/api/v10`, `%40original` decoded to `@original`, without the query. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The JSON body, or the parsed `payload_json` part of a multipart body. */
  readonly json: unknown;
  readonly contentType: string | null;
  /** Every multipart part (empty for JSON bodies). */
  readonly parts: readonly FormPart[];
  /** The `files[n]` parts, in order. */
  readonly files: readonly FormPart[];
  status: number;
}

/** A failure the next matching request(s) get instead of the real answer. */
export interface Fault {
  readonly method?: string;
  readonly path: RegExp;
  /** 429 (with Retry-After) or 5xx. */
  readonly status: number;
  readonly retryAfterSeconds?: number;
  times: number;
}
