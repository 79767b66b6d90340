// The store factory: picks the implementation of the store interface (host/bank/store.ts) from the
// path or URL. It lives apart from the interface so that the interface imports no store and the
// stores import nothing back but its types and errors.
import type { BankStore, OpenStoreOptions } from "./store.js";

/** True for the URLs the PostgreSQL store takes. */
export const isPostgresUrl = (urlOrPath: string): boolean => /^postgres(ql)?:\/\//i.test(urlOrPath);

/**
 * Opens the bank's store: `postgres://` / `postgresql://` URLs are for the PostgreSQL store (several
 * instances on one database), anything else is an SQLite file path (":memory:" for a throw-away one).
 */
export async function openStore(urlOrPath: string, options: OpenStoreOptions = {}): Promise<BankStore> {
  if (isPostgresUrl(urlOrPath)) {
    const { PgStore } = await import("./postgres/store.js");
    return PgStore.open(urlOrPath, { create: options.create, poolSize: options.poolSize, auditSealers: options.auditSealers });
  }
  const { SqliteStore } = await import("./sqlite/store.js");
  return SqliteStore.open(urlOrPath, options);
}
