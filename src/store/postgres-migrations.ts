/**
 * The PostgreSQL spelling of `./migrations.ts`: migration n here means what migration n means on
 * SQLite, so one version number describes a schema on either backend. Never edit a shipped
 * migration: add a new one here and there together.
 *
 * Types are chosen so that SQL written for SQLite runs unchanged: epoch milliseconds and credits
 * are bigint (the pool parses int8 to Number), small counters and 0/1 flags are integer, JSON
 * stays text, `progress` is double precision. A `typeof(x) = 'integer'` check on SQLite is the
 * column type here: bigint takes no fractions and no text that is not a whole number.
 */
export const POSTGRES_MIGRATIONS: readonly { readonly version: number; readonly sql: string }[] = [
  {
    version: 1,
    sql: `
      -- One row per /imagine. The row IS the state machine (see src/jobs/transitions.ts).
      -- rowid: SQLite's implicit insertion order, which its queries use to break ties between
      -- rows of the same millisecond (FIFO in the fair queue, the blocked-word list's order);
      -- spelled out here so the same queries order the same way.
      create table jobs (
        rowid               bigint generated always as identity unique,
        id                  text primary key,
        platform            text not null,
        community_id        text not null,
        user_id             text not null,
        user_name           text not null,
        placeholder         text not null,
        request             text not null,
        model               text not null,
        state               text not null check (state in
                              ('queued','reserved','submitting','submitted','running','succeeded',
                               'delivered','rejected','failed','cancelled')),
        reference_uris      text,
        reserved_credits    bigint,
        task_id             text,
        estimated_credits   bigint,
        cost_credits        bigint,
        progress            double precision,
        failure_code        text,
        failure_message     text,
        delivery_checkpoint text,
        not_before          bigint,
        created_at          bigint not null,
        reserved_at         bigint,
        submitted_at        bigint,
        finished_at         bigint,
        delivered_at        bigint,
        updated_at          bigint not null
      );
      create index jobs_unfinished on jobs(state)
        where state not in ('delivered','rejected','failed','cancelled');
      create index jobs_community_reserved on jobs(community_id, reserved_at);
      create index jobs_task on jobs(task_id);
      create index jobs_submitted on jobs(submitted_at) where submitted_at is not null;

      -- Append-only: an entry is never updated or deleted. Balances are sums of delta.
      -- 'always': ids come from the sequence, as SQLite's rowid comes from max(id) + 1.
      create table ledger (
        id            bigint generated always as identity primary key,
        community_id  text not null,
        user_id       text not null,
        job_id        text references jobs(id),
        kind          text not null check (kind in
                        ('allowance','grant','set','reserve','adjust','settle','refund')),
        delta         bigint not null,
        actor_id      text not null,
        note          text,
        model         text,
        spend_at      bigint,
        created_at    bigint not null
      );
      create index ledger_account on ledger(community_id, user_id, delta);
      create index ledger_job on ledger(job_id);
      create index ledger_spend on ledger(community_id, spend_at, delta) where spend_at is not null;

      create table community_settings (
        community_id      text primary key,
        allowance         bigint,
        allowance_period  text check (allowance_period in ('day','week','month','none')),
        cap               bigint,
        cap_period        text check (cap_period in ('day','week','month','none')),
        updated_by        text,
        updated_at        bigint
      );

      create table accounts (
        community_id           text not null,
        user_id                text not null,
        display_name           text not null,
        allowance_period_key   text,
        primary key (community_id, user_id)
      );
    `,
  },
  {
    version: 2,
    sql: `
      alter table jobs rename column not_before to run_at;
      alter table jobs add column locked_by text;
      alter table jobs add column locked_until bigint;
      alter table jobs add column attempts integer not null default 0 check (attempts >= 0);
      alter table jobs add column malformed_polls integer not null default 0 check (malformed_polls >= 0);
      alter table jobs add column last_unfinished_at bigint;
      alter table jobs add column moderated integer not null default 0 check (moderated in (0, 1));
      create index jobs_due on jobs(run_at)
        where state not in ('delivered','rejected','failed','cancelled');
      create index jobs_member_unfinished on jobs(community_id, user_id)
        where state not in ('delivered','rejected','failed','cancelled');
      create index jobs_moderated on jobs(community_id, user_id, finished_at) where moderated = 1;

      create table instance_lease (
        id            integer primary key check (id = 1),
        holder        text not null,
        hostname      text not null,
        pid           integer not null,
        started_at    bigint not null,
        heartbeat_at  bigint not null,
        expires_at    bigint not null
      );

      -- SQLite rebuilds the ledger here to add its rules; PostgreSQL can add them in place. delta
      -- is bigint since migration 1, which is this backend's "whole credits only".
      alter table ledger add constraint ledger_job_entries
        check ((job_id is null) = (kind in ('allowance','grant','set')));
      create index ledger_spend_all on ledger(spend_at, delta) where spend_at is not null;
      create unique index ledger_one_reserve on ledger(job_id) where kind = 'reserve';
      create unique index ledger_one_settle on ledger(job_id) where kind = 'settle';
      create unique index ledger_one_refund on ledger(job_id) where kind = 'refund';
      create function ledger_refuse_update() returns trigger language plpgsql as $$
        begin raise exception 'the ledger is append-only: entries are never updated'; end $$;
      create function ledger_refuse_delete() returns trigger language plpgsql as $$
        begin raise exception 'the ledger is append-only: entries are never deleted'; end $$;
      create trigger ledger_no_update before update on ledger
        for each row execute function ledger_refuse_update();
      create trigger ledger_no_delete before delete on ledger
        for each row execute function ledger_refuse_delete();
      -- TRUNCATE skips delete triggers on PostgreSQL (SQLite has no TRUNCATE): it is a delete too.
      create trigger ledger_no_truncate before truncate on ledger
        for each statement execute function ledger_refuse_delete();

      alter table community_settings add column budget bigint check (budget is null or budget >= 0);
      alter table community_settings add column budget_period text check (budget_period in ('day','week','month','none'));
      alter table community_settings add column blocked_at bigint;
      alter table community_settings add column blocked_note text;
      create table blocked_words (
        rowid         bigint generated always as identity unique,
        community_id  text not null,
        word          text not null,
        added_by      text not null,
        added_at      bigint not null,
        primary key (community_id, word)
      );

      alter table accounts add column pardoned_at bigint;
      alter table accounts add column topup_from_holds bigint not null default 0 check (topup_from_holds >= 0);
    `,
  },
  {
    version: 3,
    sql: `
      -- SQLite's LIKE ignores ASCII case, hence ilike; its glob '*[^0-9a-f]*' is this regex.
      create table job_references (
        job_id       text not null references jobs(id),
        position     integer not null check (position >= 0),
        tag          text not null,
        sha256       text not null check (length(sha256) = 64 and sha256 ~ '^[0-9a-f]*$'),
        runway_uri   text not null check (runway_uri ilike 'runway://%'),
        uploaded_at  bigint not null,
        primary key (job_id, position)
      );
      create index job_references_sha on job_references(sha256);

      alter table jobs add column result_link text;
      create index jobs_member_delivered on jobs(community_id, user_id, delivered_at) where state = 'delivered';
    `,
  },
  {
    version: 4,
    sql: `
      -- SQLite's json_extract gives SQL null for a missing key and for a JSON null alike; ->> does
      -- the same (-> would give the JSON value null, which is not SQL null). Stored, not virtual:
      -- PostgreSQL before 18 has only stored generated columns.
      alter table jobs add column kind text generated always as
        (case when (request::jsonb ->> 'upscale') is null then 'text_to_image' else 'upscale' end) stored;
      -- SQLite's three-valued logic, kept: a missing (or JSON null) scaleFactor makes the
      -- condition null, and a null condition lets the row in there as here.
      create function jobs_check_upscale_params() returns trigger language plpgsql as $$
        declare
          upscale constant jsonb := nullif(new.request::jsonb -> 'upscale', 'null'::jsonb);
        begin
          if upscale is not null
             and (nullif(upscale -> 'scaleFactor', 'null'::jsonb) not in ('2'::jsonb, '4'::jsonb)
                  or jsonb_typeof(upscale -> 'sourceJobId') is distinct from 'string'
                  or new.model <> 'magnific_precision_upscaler_v2') then
            raise exception 'an upscale job needs scaleFactor 2 or 4, a sourceJobId and the upscaler model';
          end if;
          return new;
        end $$;
      create trigger jobs_upscale_params before insert on jobs
        for each row execute function jobs_check_upscale_params();
    `,
  },
  {
    version: 5,
    sql: `
      alter table jobs add column progress_at bigint;
      create index jobs_model_finished on jobs(model, finished_at) where finished_at is not null;
    `,
  },
  {
    // Slack at scale: each platform delivery worked once, by whichever process claims it (./deliveries.ts).
    version: 6,
    sql: `
      -- The primary key is the guarantee: a second insert of the same delivery is refused, in any process.
      create table platform_deliveries (
        platform      text not null,
        delivery_key  text not null,
        received_at   bigint not null,
        primary key (platform, delivery_key)
      );
      create index platform_deliveries_received on platform_deliveries(received_at);
    `,
  },
];
