/**
 * Makes `openapi-subset.json` from Discord's full OpenAPI description (discord/discord-api-spec,
 * `specs/openapi.json`), which is too large to vendor whole: every path template with its methods
 * (so a request to a route Discord does not have is still caught), the request bodies of the
 * operations the fake serves, and every component schema those bodies reach through `$ref`.
 *
 *   npx tsx test/fakes/discord/spec/make-subset.ts <path to openapi.json>
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Path templates whose operations the fake Discord serves, and so whose bodies are checked. */
export const CHECKED_ROUTES = [
  '/gateway/bot',
  '/users/@me',
  '/applications/@me',
  '/applications/{application_id}/commands',
  '/applications/{application_id}/guilds/{guild_id}/commands',
  '/interactions/{interaction_id}/{interaction_token}/callback',
  '/webhooks/{webhook_id}/{webhook_token}',
  '/webhooks/{webhook_id}/{webhook_token}/messages/@original',
  '/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}',
  '/channels/{channel_id}/messages',
  '/channels/{channel_id}/messages/{message_id}',
] as const;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface FullSpec {
  info: Json;
  paths: Record<string, Record<string, { requestBody?: Json }>>;
  components: { schemas: Record<string, Json> };
}

function refsIn(value: Json, found: Set<string>): void {
  if (Array.isArray(value)) for (const item of value) refsIn(item, found);
  else if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (key === '$ref' && typeof inner === 'string') found.add(inner.replace('#/components/schemas/', ''));
      else refsIn(inner, found);
    }
  }
}

function subset(full: FullSpec): Json {
  const paths: Record<string, Record<string, Json>> = {};
  const wanted = new Set<string>();
  for (const [template, operations] of Object.entries(full.paths)) {
    const checked = (CHECKED_ROUTES as readonly string[]).includes(template);
    paths[template] = {};
    for (const [method, operation] of Object.entries(operations)) {
      if (!['get', 'put', 'post', 'patch', 'delete'].includes(method)) continue;
      const body = checked ? operation.requestBody : undefined;
      paths[template][method] = body === undefined ? {} : { requestBody: body };
      if (body !== undefined) refsIn(body, wanted);
    }
  }
  const schemas: Record<string, Json> = {};
  const queue = [...wanted];
  while (queue.length > 0) {
    const name = queue.pop() as string;
    if (name in schemas) continue;
    const schema = full.components.schemas[name];
    if (schema === undefined) throw new Error(`unresolvable schema ${name}`);
    schemas[name] = schema;
    const more = new Set<string>();
    refsIn(schema, more);
    queue.push(...more);
  }
  return { info: full.info, paths, components: { schemas } };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const source = process.argv[2];
  if (!source) throw new Error('usage: make-subset.ts <openapi.json>');
  const full = JSON.parse(readFileSync(source, 'utf8')) as FullSpec;
  const out = new URL('./openapi-subset.json', import.meta.url);
  writeFileSync(out, `${JSON.stringify(subset(full))}\n`);
}
