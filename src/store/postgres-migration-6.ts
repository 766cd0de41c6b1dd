/**
 * SQLite migration 6 (`./migrations.ts`) in PostgreSQL's spelling, for the PostgreSQL migration
 * list: the table that lets every process on one database work each platform delivery once
 * (`./deliveries.ts`). Epoch milliseconds need `bigint` here; SQLite's `integer` holds them already.
 */
export const POSTGRES_MIGRATION_6: { readonly version: number; readonly sql: string } = {
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
};
