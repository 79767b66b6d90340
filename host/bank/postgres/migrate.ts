// Opening a PostgreSQL bank database: the schema's migrations (schema.ts), applied once however many
// instances start together, and the check `bank init` makes before creating one.
import type { Pool } from "pg";
import { StoreOpenError } from "../store.js";
import { CONNECT_TIMEOUT_MS, listened, loadPg, openError, redactUrl } from "./connection.js";
import { MIGRATION_LOCK, MIGRATIONS } from "./schema.js";

/** True when the database at `url` already holds a bank schema (for `bank init`, which makes new ones only). */
export async function postgresHasBank(url: string): Promise<boolean> {
  const pg = loadPg();
  const location = redactUrl(url);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  try {
    await client.connect();
    const { rows } = await client.query<{ found: string | null }>("SELECT to_regclass('schema_migrations')::text AS found");
    return rows[0].found !== null;
  } catch (error) {
    throw openError(error, location);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Brings the schema to SCHEMA_VERSION, one migration per transaction, each under the migration
 * advisory lock (a second instance starting at once waits, then finds the migration applied).
 */
export async function migrate(pool: Pool, location: string, mayCreate: boolean, migrations: readonly string[] = MIGRATIONS): Promise<void> {
  const client = listened(await pool.connect());
  try {
    for (;;) {
      await client.query("BEGIN");
      try {
        await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK.toString()]);
        const { rows } = await client.query<{ found: string | null }>("SELECT to_regclass('schema_migrations')::text AS found");
        let version = 0;
        if (rows[0].found === null) {
          if (!mayCreate) {
            const tables = await client.query<{ n: number }>("SELECT count(*) AS n FROM pg_tables WHERE schemaname = current_schema()");
            throw new StoreOpenError(
              Number(tables.rows[0].n) > 0
                ? `${location} is a PostgreSQL database but not a bank database (no schema_migrations table)`
                : `${location} has no bank schema yet: run 'otp-token bank init --db ${location}'`,
            );
          }
          await client.query("CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())");
        } else {
          const applied = await client.query<{ v: number | null }>("SELECT max(version) AS v FROM schema_migrations");
          version = applied.rows[0].v ?? 0;
        }
        if (version > migrations.length) {
          throw new StoreOpenError(
            `the bank database ${location} has schema version ${version}, newer than this program's ${migrations.length}: upgrade otp-token`,
          );
        }
        if (version === migrations.length) {
          await client.query("COMMIT");
          return;
        }
        await client.query(migrations[version]);
        await client.query("INSERT INTO schema_migrations (version) VALUES ($1)", [version + 1]);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      }
    }
  } finally {
    client.release();
  }
}
