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
  {
    // Issues 7 and 5, designed together: the engine's truth moves into the row (ownership, retries,
    // due times), the ledger's rules into the schema, and the operator's bounds get their columns.
    version: 2,
    sql: `
      -- Ownership and retry state in the row (graphile-worker style). A job is worked only by the
      -- instance named in locked_by, until locked_until; run_at is when it may be looked at next
      -- (the next poll, a backoff, a delivery retry). attempts counts consecutive failed tries in
      -- the current state (deferred creates, failed polls, failed deliveries): a transition resets it.
      alter table jobs rename column not_before to run_at;
      alter table jobs add column locked_by text;
      alter table jobs add column locked_until integer;
      alter table jobs add column attempts integer not null default 0 check (attempts >= 0);
      alter table jobs add column malformed_polls integer not null default 0 check (malformed_polls >= 0);
      -- When a poll last found the task unfinished: with the poll that sees success it brackets the finish.
      alter table jobs add column last_unfinished_at integer;
      -- Runway declined the prompt or the image (SAFETY.*, INPUT_PREPROCESSING.SAFETY.*): a strike.
      alter table jobs add column moderated integer not null default 0 check (moderated in (0, 1));
      create index jobs_due on jobs(run_at)
        where state not in ('delivered','rejected','failed','cancelled');
      create index jobs_member_unfinished on jobs(community_id, user_id)
        where state not in ('delivered','rejected','failed','cancelled');
      create index jobs_moderated on jobs(community_id, user_id, finished_at) where moderated = 1;

      -- One bot process per database: the holder renews heartbeat_at; another takes over only
      -- after expires_at, or at once when the holder is provably dead (same host, pid gone).
      create table instance_lease (
        id            integer primary key check (id = 1),
        holder        text not null,
        hostname      text not null,
        pid           integer not null,
        started_at    integer not null,
        heartbeat_at  integer not null,
        expires_at    integer not null
      );

      -- The ledger, rebuilt with its rules in the schema: whole credits only, append-only, and at
      -- most one reserve, one settle and one refund per job.
      create table ledger_v2 (
        id            integer primary key,
        community_id  text not null,
        user_id       text not null,
        job_id        text references jobs(id),
        kind          text not null check (kind in
                        ('allowance','grant','set','reserve','adjust','settle','refund')),
        delta         integer not null check (typeof(delta) = 'integer'),
        actor_id      text not null,
        note          text,
        model         text,
        spend_at      integer,
        created_at    integer not null,
        check ((job_id is null) = (kind in ('allowance','grant','set')))
      );
      insert into ledger_v2 (id, community_id, user_id, job_id, kind, delta, actor_id, note, model, spend_at, created_at)
        select id, community_id, user_id, job_id, kind, delta, actor_id, note, model, spend_at, created_at from ledger;
      drop table ledger;
      alter table ledger_v2 rename to ledger;
      create index ledger_account on ledger(community_id, user_id, delta);
      create index ledger_job on ledger(job_id);
      create index ledger_spend on ledger(community_id, spend_at, delta) where spend_at is not null;
      -- The operator's budget sums every community's spend in a period.
      create index ledger_spend_all on ledger(spend_at, delta) where spend_at is not null;
      create unique index ledger_one_reserve on ledger(job_id) where kind = 'reserve';
      create unique index ledger_one_settle on ledger(job_id) where kind = 'settle';
      create unique index ledger_one_refund on ledger(job_id) where kind = 'refund';
      create trigger ledger_no_update before update on ledger
        begin select raise(abort, 'the ledger is append-only: entries are never updated'); end;
      create trigger ledger_no_delete before delete on ledger
        begin select raise(abort, 'the ledger is append-only: entries are never deleted'); end;

      -- The operator's levels: a community budget (null: COMMUNITY_BUDGET), and blocking.
      alter table community_settings add column budget integer check (budget is null or (typeof(budget) = 'integer' and budget >= 0));
      alter table community_settings add column budget_period text check (budget_period in ('day','week','month','none'));
      alter table community_settings add column blocked_at integer;
      alter table community_settings add column blocked_note text;
      create table blocked_words (
        community_id  text not null,
        word          text not null,                 -- normalised (NFKC, case-folded, no zero-width)
        added_by      text not null,
        added_at      integer not null,
        primary key (community_id, word)
      );

      -- Strikes count moderated jobs finished after the last pardon.
      alter table accounts add column pardoned_at integer;
      -- The part of this period's allowance top-up that exists only because credits were held
      -- across the period boundary: a later refund of those holds gives it back (README: unused
      -- allowance does not pile up).
      alter table accounts add column topup_from_holds integer not null default 0 check (topup_from_holds >= 0);
    `,
  },
  {
    // Issue 9, items 4 and 6: references kept by the bot, and where each result was posted.
    version: 3,
    sql: `
      -- A job's reference images: their bytes are in the content-addressed store
      -- (<dirname(DATABASE_PATH)>/references/<sha256>), the runway:// URI is the latest upload of
      -- them and uploaded_at its time: an upload older than Runway's 24 h is made again from the
      -- bytes before the create. Written only with the job's own guarded transitions.
      create table job_references (
        job_id       text not null references jobs(id),
        position     integer not null check (position >= 0),
        tag          text not null,
        sha256       text not null check (length(sha256) = 64 and sha256 not glob '*[^0-9a-f]*'),
        runway_uri   text not null check (runway_uri like 'runway://%'),
        uploaded_at  integer not null,
        primary key (job_id, position)
      );
      create index job_references_sha on job_references(sha256);

      -- Where the delivered result is (a message link the platform gave at delivery), for /history.
      alter table jobs add column result_link text;
      create index jobs_member_delivered on jobs(community_id, user_id, delivered_at) where state = 'delivered';
    `,
  },
  {
    // Issue 9, item 5: actions on a result. A job is a text-to-image or an upscale of an earlier
    // result; the kind follows from the request (its `upscale` params), so the two cannot disagree.
    version: 4,
    sql: `
      alter table jobs add column kind text generated always as
        (case when json_extract(request, '$.upscale') is null then 'text_to_image' else 'upscale' end) virtual;
      -- An upscale's params as the runner sends them: a factor Runway takes, and the result it came from.
      create trigger jobs_upscale_params before insert on jobs
        when json_extract(new.request, '$.upscale') is not null
         and (json_extract(new.request, '$.upscale.scaleFactor') not in (2, 4)
              or json_type(new.request, '$.upscale.sourceJobId') is not 'text'
              or new.model <> 'magnific_precision_upscaler_v2')
        begin select raise(abort, 'an upscale job needs scaleFactor 2 or 4, a sourceJobId and the upscaler model'); end;
    `,
  },
  {
    // Issue 11: polls timed by the task's own progress, and generation times that survive a restart.
    version: 5,
    sql: `
      -- When the figure in progress was read: with the next reading, the task's own pace.
      alter table jobs add column progress_at integer;
      -- Each model's recent generation times, read when the first poll of a task is timed.
      create index jobs_model_finished on jobs(model, finished_at) where finished_at is not null;
    `,
  },
  {
    // Slack at scale: a platform's delivery (an event, a command, a button) is worked once, by
    // whichever process claims it first (src/store/deliveries.ts).
    version: 6,
    sql: `
      -- The primary key is the guarantee: a second insert of the same delivery is refused, in any process.
      create table platform_deliveries (
        platform      text not null,
        delivery_key  text not null,               -- the platform's own id of the delivery (Slack: event:<event_id>, trigger:<trigger_id>)
        received_at   integer not null,            -- epoch ms of the first claim; old rows are pruned by it
        primary key (platform, delivery_key)
      );
      create index platform_deliveries_received on platform_deliveries(received_at);
    `,
  },
];
