import { z } from 'zod';

/**
 * Runway's task, as `GET /v1/tasks/{id}` returns it, parsed once where it enters.
 * https://docs.dev.runwayml.com/api/#tag/Task-management/paths/~1v1~1tasks~1%7Bid%7D/get
 */
/**
 * Credits as Runway states them, made whole here, once: the ledger holds whole credits only (the
 * schema refuses anything else), so a fractional cost (5.5) is rounded UP where it enters rather
 * than thrown inside a transaction later, which would strand the job mid-transition.
 */
const credits = z.object({
  credits: z
    .number()
    .nonnegative()
    .max(Number.MAX_SAFE_INTEGER)
    .transform((value) => Math.ceil(value)),
});

export const runwayTaskSchema = z.discriminatedUnion('status', [
  z.object({ id: z.string(), status: z.literal('PENDING'), estimatedCost: credits.optional() }),
  z.object({ id: z.string(), status: z.literal('THROTTLED'), estimatedCost: credits.optional() }),
  z.object({ id: z.string(), status: z.literal('RUNNING'), progress: z.number().min(0).max(1).optional() }),
  z.object({ id: z.string(), status: z.literal('SUCCEEDED'), output: z.array(z.string().url()).min(1), cost: credits.optional() }),
  z.object({
    id: z.string(),
    status: z.literal('FAILED'),
    failure: z.string().optional(),
    failureCode: z.string().optional(),
    cost: credits.optional(),
  }),
  z.object({ id: z.string(), status: z.literal('CANCELLED'), cost: credits.optional() }),
]);

export type RunwayTask = z.infer<typeof runwayTaskSchema>;

export const createResponseSchema = z.object({
  id: z.string().min(1),
  estimatedCost: credits.optional(),
});

/**
 * `GET /v1/organization`, as far as the bot plans around it: the credit balance, each model's tier
 * limits and today's usage. The SDK (resources/organization/organization.d.ts) types every field as
 * present and the limits as `number | null`, `null` meaning no limit. Each field is optional here
 * anyway, so one answer missing a field costs that field, not the whole read; and the models are
 * `unknown` until src/runway/organization.ts picks the ones in our catalogue, so an entry for a model
 * the bot never uses cannot fail the read.
 */
export const organizationSchema = z.object({
  creditBalance: z.number().nullable().optional(),
  tier: z.object({ models: z.record(z.string(), z.unknown()).optional() }).optional(),
  usage: z.object({ models: z.record(z.string(), z.unknown()).optional() }).optional(),
});

/** One model's entry in `tier.models`. Concurrency was always required to be positive: 0 slots would stall the queue for good. */
export const modelTierSchema = z.object({
  maxConcurrentGenerations: z.number().int().positive().nullable().optional(),
  maxDailyGenerations: z.number().int().nonnegative().nullable().optional(),
});

/** One model's entry in `usage.models`. */
export const modelUsageSchema = z.object({
  dailyGenerations: z.number().int().nonnegative().optional(),
});
