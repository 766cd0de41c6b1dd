import { z } from 'zod';
import { inTransaction, type TransitionContext } from './context.ts';

/** One reference of a job: its bytes in the store (by sha256), and its latest upload to Runway. */
export const storedReferenceSchema = z.object({
  position: z.number().int().nonnegative(),
  tag: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  uri: z.string().startsWith('runway://'),
  uploadedAt: z.number().int(),
});
export type StoredReference = z.infer<typeof storedReferenceSchema>;

const SET_URIS = `
  update jobs set reference_uris = @uris, updated_at = @now
   where id = @id and state = @state and locked_by = @instanceId`;

const INSERT_REFERENCE = `
  insert into job_references (job_id, position, tag, sha256, runway_uri, uploaded_at)
  values (@id, @position, @tag, @sha256, @uri, @uploadedAt)
  on conflict (job_id, position) do update set runway_uri = excluded.runway_uri, uploaded_at = excluded.uploaded_at
   where job_references.sha256 = excluded.sha256 and job_references.tag = excluded.tag`;

const urisOf = (refs: readonly StoredReference[]): string => JSON.stringify(refs.map((r) => ({ uri: r.uri, tag: r.tag })));

/**
 * Record a job's references, with the job's `reference_uris` in the same transaction: in `queued`
 * when it is accepted, in `submitting` when they were uploaded again just before the create. A row
 * keeps its position's bytes and tag: only the upload (URI, time) may change. False when the job
 * is not ours and in that state (nothing written).
 */
async function writeReferences(ctx: TransitionContext, id: string, state: 'queued' | 'submitting', refs: readonly StoredReference[]): Promise<boolean> {
  return inTransaction(ctx, async (tx): Promise<boolean> => {
    const now = ctx.clock.now();
    if ((await tx.db.run(SET_URIS, { id, state, uris: urisOf(refs), now, instanceId: ctx.instanceId })).changes !== 1) return false;
    for (const ref of refs) {
    if ((await tx.db.run(INSERT_REFERENCE, { id, ...ref })).changes !== 1) throw new Error(`job ${id}: reference ${ref.position} is another image`);
    }
    return true;
  });
}

/** queued: the references of a job being accepted (uploaded now, or a reroll's copied from its original). */
export async function setReferences(ctx: TransitionContext, id: string, refs: readonly StoredReference[]): Promise<boolean> {
  return writeReferences(ctx, id, 'queued', refs);
}

/** submitting: the same images, uploaded to Runway again because the earlier upload had expired. */
export async function refreshReferences(ctx: TransitionContext, id: string, refs: readonly StoredReference[]): Promise<boolean> {
  return writeReferences(ctx, id, 'submitting', refs);
}

const REFERENCES_OF = `
  select position, tag, sha256, runway_uri as uri, uploaded_at as "uploadedAt" from job_references where job_id = @id order by position`;

/** A job's stored references, in order (empty for a job without images, or from before migration 3). */
export async function referencesOf(ctx: Pick<TransitionContext, 'db'>, id: string): Promise<StoredReference[]> {
  return z.array(storedReferenceSchema).parse(await ctx.db.all(REFERENCES_OF, { id }));
}

const NEEDED_HASHES = `
  select distinct r.sha256 from job_references r join jobs j on j.id = r.job_id
   where j.state not in ('delivered','rejected','failed','cancelled') or j.created_at >= @since`;

/** The files some job still needs: any unfinished job's, and those of jobs younger than `since` (reroll). */
export async function neededHashes(ctx: Pick<TransitionContext, 'db'>, since: number): Promise<Set<string>> {
  const rows = await ctx.db.all<{ sha256: string }>(NEEDED_HASHES, { since });
  return new Set(z.array(z.string()).parse(rows.map((row) => row.sha256)));
}
