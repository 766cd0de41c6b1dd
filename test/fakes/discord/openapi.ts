import { readFileSync } from 'node:fs';
import type { RecordedRequest } from './state.ts';

/**
 * Checks a recorded request against Discord's own OpenAPI description (discord/discord-api-spec,
 * vendored as the subset in `spec/openapi-subset.json`, MIT licence in `spec/LICENSE`): the route and method
 * exist, and the JSON body (or multipart `payload_json`) has the required fields with the right
 * types and limits. A small JSON-Schema subset: $ref, allOf/anyOf/oneOf, type, properties,
 * required, items, enum, min/max, lengths, string patterns.
 */

type Schema = Record<string, unknown>;
interface Spec {
  paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: Schema }> } }>>;
  components: { schemas: Record<string, Schema> };
}

const SPEC_PATH = new URL('./spec/openapi-subset.json', import.meta.url);
let spec: Spec | null = null;
const loadSpec = (): Spec => (spec ??= JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as Spec);

/** The spec's path template for a concrete path, preferring literal segments (`@original`) over parameters. */
function specRouteFor(path: string): string | null {
  const candidates = Object.keys(loadSpec().paths).filter((template) => {
    const pattern = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+');
    return new RegExp(`^${pattern}$`).test(path);
  });
  candidates.sort((a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0));
  return candidates[0] ?? null;
}

/** Problems with a request, per the spec; empty when it conforms. */
export function specProblems(request: RecordedRequest): string[] {
  const route = specRouteFor(request.path);
  if (route === null) return [`${request.method} ${request.path}: no such route in the spec`];
  const operation = loadSpec().paths[route]?.[request.method.toLowerCase()];
  if (!operation) return [`${request.method} ${route}: method not in the spec`];
  if (request.json === null || request.json === undefined) return [];
  const schema = operation.requestBody?.content?.['application/json']?.schema;
  if (!schema) return [`${request.method} ${route}: the spec takes no JSON body`];
  return validate(request.json, schema, `${request.method} ${route} body`);
}

function resolve(schema: Schema): Schema {
  let current = schema;
  while (typeof current.$ref === 'string') {
    const name = current.$ref.replace('#/components/schemas/', '');
    const target = loadSpec().components.schemas[name];
    if (!target) throw new Error(`unresolvable $ref ${current.$ref}`);
    current = target;
  }
  return current;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function validate(value: unknown, raw: Schema, at: string): string[] {
  const schema = resolve(raw);
  const problems: string[] = [];
  if (Array.isArray(schema.allOf)) for (const part of schema.allOf as Schema[]) problems.push(...validate(value, part, at));
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = schema[key];
    if (Array.isArray(options)) {
      const results = (options as Schema[]).map((option) => validate(value, option, at));
      if (!results.some((r) => r.length === 0)) problems.push(`${at}: matches none of ${key} (${results.map((r) => r[0]).join(' | ')})`);
    }
  }
  if (schema.type !== undefined) {
    const allowed = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    const actual = typeOf(value);
    // Discord sends and takes 64-bit integers (permission bit sets) as decimal strings, as its docs
    // say for default_member_permissions; the spec types some of them as integers.
    const isInt64String = actual === 'string' && allowed.includes('integer') && /^\d+$/.test(value as string);
    const ok = allowed.includes(actual) || (actual === 'integer' && allowed.includes('number')) || isInt64String;
    if (!ok) return [...problems, `${at}: expected ${allowed.join('|')}, got ${actual}`];
  }
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) problems.push(`${at}: ${JSON.stringify(value)} not in ${JSON.stringify(schema.enum)}`);
  if (typeof value === 'string') {
    if (typeof schema.maxLength === 'number' && value.length > schema.maxLength) problems.push(`${at}: longer than ${schema.maxLength}`);
    if (typeof schema.minLength === 'number' && value.length < schema.minLength) problems.push(`${at}: shorter than ${schema.minLength}`);
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern).test(value)) problems.push(`${at}: does not match ${schema.pattern}`);
  }
  if (typeof value === 'number') {
    if (typeof schema.maximum === 'number' && value > schema.maximum) problems.push(`${at}: above ${schema.maximum}`);
    if (typeof schema.minimum === 'number' && value < schema.minimum) problems.push(`${at}: below ${schema.minimum}`);
  }
  if (Array.isArray(value)) {
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) problems.push(`${at}: more than ${schema.maxItems} items`);
    if (schema.items) value.forEach((item, index) => problems.push(...validate(item, schema.items as Schema, `${at}[${index}]`)));
  }
  if (typeOf(value) === 'object') {
    const object = value as Record<string, unknown>;
    for (const field of (schema.required as string[] | undefined) ?? []) if (!(field in object)) problems.push(`${at}: missing required ${field}`);
    const properties = (schema.properties as Record<string, Schema> | undefined) ?? {};
    for (const [field, fieldValue] of Object.entries(object)) {
      const fieldSchema = properties[field];
      if (fieldSchema && fieldValue !== undefined) problems.push(...validate(fieldValue, fieldSchema, `${at}.${field}`));
    }
  }
  return problems;
}
