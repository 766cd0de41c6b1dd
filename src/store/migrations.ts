/**
 * Schema migrations, applied in order on open. Each is run once, inside a transaction, and
 * recorded in `schema_migrations`. Never edit a shipped migration: add a new one.
 */
export const MIGRATIONS: readonly { readonly version: number; readonly sql: string }[] = [
  {
    version: 1,
    sql: `
      -- One row per /imagine. The row IS the state machine (see src/jobs/transitions.ts).
      create table jobs (
        id                  text primary key,
        platform            text not null,
        community_id        text not null,
        user_id             text not null,
        user_name           text not null,
        placeholder         text not null,           -- the adapter's serialised handle
        request             text not null,           -- JSON of the validated ImagineRequest
        model               text not null,
        state               text not null check (state in
                              ('queued','reserved','submitting','submitted','running','succeeded',
                               'delivered','rejected','failed','cancelled')),
        reference_uris      text,                    -- JSON [{uri, tag}] once uploaded to Runway
        reserved_credits    integer,                 -- what is held from the budget right now
        task_id             text,
        estimated_credits   integer,
        cost_credits        integer,
        progress            real,
        failure_code        text,
        failure_message     text,
        delivery_checkpoint text,
        not_before          integer,                 -- earliest next submit (after a 429)
        created_at          integer not null,
        reserved_at         integer,
        submitted_at        integer,
        finished_at         integer,
        delivered_at        integer,
        updated_at          integer not null
      );
      create index jobs_unfinished on jobs(state)
        where state not in ('delivered','rejected','failed','cancelled');
      create index jobs_community_reserved on jobs(community_id, reserved_at);
      create index jobs_task on jobs(task_id);
      create index jobs_submitted on jobs(submitted_at) where submitted_at is not null;

      -- Append-only: an entry is never updated or deleted. Balances are sums of delta.
      create table ledger (
        id            integer primary key,
        community_id  text not null,
        user_id       text not null,
        job_id        text references jobs(id),
        kind          text not null check (kind in
                        ('allowance','grant','set','reserve','adjust','settle','refund')),
        delta         integer not null,
        actor_id      text not null,                 -- who moved the credits ('system' for the bot)
        note          text,
        -- For job entries (reserve/adjust/settle/refund): the job's model and the time it was
        -- reserved, copied onto every entry so spend is attributed to the period it started in.
        model         text,
        spend_at      integer,
        created_at    integer not null
      );
      -- Covering (delta included): a balance is a sum over the member's entries, read on every request.
      create index ledger_account on ledger(community_id, user_id, delta);
      create index ledger_job on ledger(job_id);
      create index ledger_spend on ledger(community_id, spend_at, delta) where spend_at is not null;

      -- Per-community settings a moderator changes with /quota.
      create table community_settings (
        community_id      text primary key,
        allowance         integer,                   -- null: the operator's DEFAULT_ALLOWANCE
        allowance_period  text check (allowance_period in ('day','week','month','none')),
        cap               integer,                   -- null: no community cap
        cap_period        text check (cap_period in ('day','week','month','none')),
        updated_by        text,
        updated_at        integer
      );

      -- Who we have seen, and which allowance period was last credited to them (lazy roll-over).
      create table accounts (
        community_id           text not null,
        user_id                text not null,
        display_name           text not null,
        allowance_period_key   text,
        primary key (community_id, user_id)
      );
    `,
  },
];
