// The connection budget (issue 21): every `bank serve` instance keeps a pool of up to --db-pool
// connections, and PostgreSQL refuses connections past max_connections (less the slots it keeps for
// superusers). An instance whose pool would not fit in what the server has left refuses to start,
// saying the arithmetic, instead of failing later under load with "too many clients"; one that fits
// but leaves less than another pool of its size says so. Sizing: README, "Running more than one
// instance".
import type { Pool } from "pg";
import { loadPg } from "./connection.js";

export interface ConnectionBudget {
  /** The pool this instance asks for (--db-pool). */
  poolSize: number;
  /** max_connections. */
  max: number;
  /** superuser_reserved_connections, and reserved_connections (PostgreSQL 16; 0 before): slots an ordinary role cannot use. */
  superuserReserved: number;
  reserved: number;
  /** Whether the role is a superuser (then the reserved slots are its too). */
  superuser: boolean;
  /** Client connections open now, other than the one that asked. */
  others: number;
  /** The role's CONNECTION LIMIT (-1: none) and its connections open now, other than the one that asked. */
  roleLimit: number;
  roleOthers: number;
  /** The database's CONNECTION LIMIT (-1: none) and its connections open now, other than the one that asked. */
  databaseLimit: number;
  databaseOthers: number;
}

/** Reads what the server allows this instance (one connection from `pool`, the one that asks, is counted as the pool's). */
export async function connectionBudget(pool: Pool, poolSize: number): Promise<ConnectionBudget> {
  const { rows } = await pool.query<{
    max: number;
    superuser_reserved: number;
    reserved: number;
    superuser: boolean;
    others: number;
    role_limit: number;
    role_others: number;
    database_limit: number;
    database_others: number;
  }>(`SELECT current_setting('max_connections')::int AS max,
             current_setting('superuser_reserved_connections')::int AS superuser_reserved,
             coalesce(current_setting('reserved_connections', true), '0')::int AS reserved,
             (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser,
             (SELECT rolconnlimit FROM pg_roles WHERE rolname = current_user) AS role_limit,
             (SELECT datconnlimit FROM pg_database WHERE datname = current_database()) AS database_limit,
             count(*)::int AS others,
             count(*) FILTER (WHERE usename = current_user)::int AS role_others,
             count(*) FILTER (WHERE datname = current_database())::int AS database_others
        FROM pg_stat_activity
       -- Another role's sessions show backend_type NULL to an ordinary role: a session with a database is a client's.
       WHERE pid <> pg_backend_pid() AND datid IS NOT NULL AND coalesce(backend_type, 'client backend') = 'client backend'`);
  const r = rows[0];
  return {
    poolSize,
    max: r.max,
    superuserReserved: r.superuser_reserved,
    reserved: r.reserved,
    superuser: r.superuser,
    others: r.others,
    roleLimit: r.role_limit,
    roleOthers: r.role_others,
    databaseLimit: r.database_limit,
    databaseOthers: r.database_others,
  };
}

/** The connections this instance may open, and the arithmetic that says so. */
export function available(budget: ConnectionBudget): { connections: number; arithmetic: string } {
  const reserved = budget.superuser ? 0 : budget.superuserReserved + budget.reserved;
  let connections = budget.max - reserved - budget.others;
  let arithmetic =
    `max_connections ${budget.max}` +
    (reserved > 0
      ? ` - ${reserved} reserved for superusers (superuser_reserved_connections${budget.reserved > 0 ? " + reserved_connections" : ""})`
      : "") +
    ` - ${budget.others} open by others = ${connections}`;
  if (budget.roleLimit >= 0 && budget.roleLimit - budget.roleOthers < connections) {
    connections = budget.roleLimit - budget.roleOthers;
    arithmetic += `; the role's CONNECTION LIMIT ${budget.roleLimit} - ${budget.roleOthers} of its connections open = ${connections}`;
  }
  if (budget.databaseLimit >= 0 && budget.databaseLimit - budget.databaseOthers < connections) {
    connections = budget.databaseLimit - budget.databaseOthers;
    arithmetic += `; the database's CONNECTION LIMIT ${budget.databaseLimit} - ${budget.databaseOthers} of its connections open = ${connections}`;
  }
  return { connections: Math.max(0, connections), arithmetic };
}

/** A refusal (the pool does not fit), a warning (it fits, another instance like it would not), or neither. */
export function budgetVerdict(budget: ConnectionBudget): { refuse: string | null; warn: string | null } {
  const { connections, arithmetic } = available(budget);
  if (budget.poolSize > connections)
    return {
      refuse:
        `a pool of ${budget.poolSize} connections (--db-pool) does not fit in what PostgreSQL allows this instance: ${arithmetic}. ` +
        `Lower --db-pool to ${connections} or less, run fewer instances, or raise max_connections`,
      warn: null,
    };
  const left = connections - budget.poolSize;
  if (left < budget.poolSize)
    return {
      refuse: null,
      warn:
        `warning: PostgreSQL connections: ${arithmetic}; this instance's pool takes ${budget.poolSize}, leaving ${left}: ` +
        `another instance with --db-pool ${budget.poolSize} would be refused`,
    };
  return { refuse: null, warn: null };
}

/**
 * The budget read before the store opens, on a connection of its own: once the store is open its
 * pool's other connections (the commit-id pruner, the sealer) would be counted as someone else's.
 */
export async function probeBudget(url: string, poolSize: number): Promise<ConnectionBudget> {
  const pg = loadPg();
  const probe = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 5000, application_name: "otp-token bank" });
  try {
    return await connectionBudget(probe, poolSize);
  } finally {
    await probe.end();
  }
}
