/**
 * Checks a recorded Web API call against Slack's published OpenAPI spec: the method exists, every
 * required argument is present, and no argument is one the method does not take. Reads the subset
 * vendored beside this file (`web-api-spec-subset.json`, MIT licence in `LICENSE-slack-api-specs`):
 * the methods the bot calls, each with every parameter the full spec gives it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const SUBSET = fileURLToPath(new URL('./web-api-spec-subset.json', import.meta.url));

const subsetSchema = z.object({
  methods: z.record(z.string(), z.object({ verbs: z.array(z.string()), parameters: z.record(z.string(), z.object({ required: z.boolean(), in: z.string() })) })),
});

type MethodSpec = { parameters: Map<string, { required: boolean }> };

let cached: Map<string, MethodSpec> | undefined;

function loadSpec(): Map<string, MethodSpec> {
  if (cached) return cached;
  const methods = new Map<string, MethodSpec>();
  const subset = subsetSchema.parse(JSON.parse(readFileSync(SUBSET, 'utf8')));
  for (const [name, spec] of Object.entries(subset.methods)) {
    methods.set(name, { parameters: new Map(Object.entries(spec.parameters).map(([p, v]) => [p, { required: v.required }])) });
  }
  cached = methods;
  return methods;
}

/** Problems with one call, empty when it matches the spec (or the spec does not know the method). */
export function specProblems(method: string, args: Record<string, string>, hasBearerToken: boolean): string[] {
  const spec = loadSpec().get(method);
  if (spec === undefined) return [`${method}: not a method in Slack's Web API spec`];
  const problems: string[] = [];
  for (const [name, { required }] of spec.parameters) {
    if (!required) continue;
    if (name === 'token' ? !hasBearerToken && args.token === undefined : args[name] === undefined) problems.push(`${method}: missing required argument ${name}`);
  }
  for (const name of Object.keys(args)) {
    // WebClient adds team_id to every call (org-wide apps), which the 2021 spec predates.
    if (name !== 'team_id' && !spec.parameters.has(name)) problems.push(`${method}: unexpected argument ${name}`);
  }
  return problems;
}
