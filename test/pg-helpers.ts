// One throw-away PostgreSQL server per test file that asks for it (bench/postgres-server.ts: started in
// beforeAll, stopped in afterAll and on every other exit path), a fresh database per use. Where
// Debian's postgresql package is missing, POSTGRES_SKIP says why and the PostgreSQL tests skip with it (fail under CI=true).
import { afterAll, beforeAll } from "vitest";
import { type PgServer, postgresMissing, startPostgres } from "../bench/postgres-server.js";
import { requireTool } from "./helpers.js";

/** Why the PostgreSQL tests skip here (under CI=true: fail), or null when they run. */
export const POSTGRES_SKIP = postgresMissing();
requireTool("postgresql", POSTGRES_SKIP === null, `the PostgreSQL tests are skipped: ${POSTGRES_SKIP}`);

export interface PostgresFixture {
  /** The running server (after beforeAll). */
  readonly server: PgServer;
  /** A new, empty database's URL. */
  freshUrl(): string;
}

/** Registers beforeAll/afterAll for one server in this file (no-ops when PostgreSQL is missing). */
export function usePostgres(options: Parameters<typeof startPostgres>[0] = {}): PostgresFixture {
  let server: PgServer | null = null;
  let databases = 0;
  beforeAll(async () => {
    if (POSTGRES_SKIP === null) server = await startPostgres(options);
  }, 120_000);
  afterAll(() => {
    server?.stop();
  });
  return {
    get server() {
      if (!server) throw new Error(POSTGRES_SKIP ?? "the PostgreSQL server is not started yet");
      return server;
    },
    freshUrl() {
      const name = `bank_${++databases}`;
      this.server.createDatabase(name);
      return this.server.url(name);
    },
  };
}
