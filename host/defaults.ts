// Defaults every front end shares (the CLI, the terminal simulator, the browser simulator's server):
// where the bank's database and its outbox are. Below host/cli/ and host/web/, so neither reaches into
// the other for them.
import { isPostgresUrl } from "./bank/open-store.js";

export const DEFAULT_DB = "./bank.sqlite";
export const DEFAULT_OUTBOX = "./outbox";
/** A postgres:// URL here is the database when --db is not given (the usual variable of hosted PostgreSQL). */
export const DATABASE_URL_ENV = "DATABASE_URL";

/** --db, else DATABASE_URL when it is a postgres:// URL, else DEFAULT_DB. */
export function databaseOf(values: { db?: string }, env: NodeJS.ProcessEnv = process.env): string {
  if (values.db !== undefined) return values.db;
  const url = env[DATABASE_URL_ENV];
  return url !== undefined && isPostgresUrl(url) ? url : DEFAULT_DB;
}
