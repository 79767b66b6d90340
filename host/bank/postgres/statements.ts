// The statements of a PostgreSQL transaction as tx.ts and group.ts send them: each text's one name
// (prepared once per connection), the held writes that go as one statement (mergeHeld), and the
// pipelined sending of several in one write (pipelined).
import type Pg from "pg";
import type { PoolClient } from "pg";
import { VERIFIABLE_TOKEN_COLUMNS } from "../store.js";

/** Each statement's text has one name, the same on every connection (where it is prepared once, on its first use). */
const names = new Map<string, string>();
export function statementName(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `bank_${names.size + 1}`;
    names.set(text, name);
  }
  return name;
}

/** A verification's token read: only the columns it checks (VERIFIABLE_TOKEN_COLUMNS), locked for the transaction. */
export const VERIFIABLE_TOKEN = `SELECT ${VERIFIABLE_TOKEN_COLUMNS.join(", ")} FROM tokens WHERE user_id = $1 FOR UPDATE`;

export type Statement = readonly [text: string, values: readonly unknown[]];

export const RECORD_TOKEN_SUCCESS =
  "UPDATE tokens SET drift_steps = $1, last_step = $2, consecutive_failures = 0, next_check_at = 0, last_success_at = $3 WHERE user_id = $4";
/** consecutive_failures + 1, locking at $1, no check before $2 (tx.ts recordTokenFailure). */
export const RECORD_TOKEN_FAILURE = `UPDATE tokens SET consecutive_failures = consecutive_failures + 1,
         locked = CASE WHEN consecutive_failures + 1 >= $1 THEN 1 ELSE locked END,
         next_check_at = $2
       WHERE user_id = $3 RETURNING consecutive_failures, locked`;
/** A transaction that records no audit event: its commit id, inserted in COMMIT's write (transactions.ts). */
export const INSERT_COMMIT_ID = "INSERT INTO commit_ids (id) VALUES ($1)";
export const APPEND_EVENT =
  "INSERT INTO audit_queue (at, kind, service_id, user_id, actor, detail, nonce, writer_mac, part) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, abs(hashtext(coalesce($4, ''))::bigint) % (SELECT count(*) FROM audit_head))";

/**
 * A group's token read (group.ts): every member's token in one statement, locked in User ID order
 * (LockRows over the ordered scan), so groups of different instances never deadlock on each other.
 */
export const VERIFIABLE_TOKENS = `SELECT ${VERIFIABLE_TOKEN_COLUMNS.join(", ")} FROM tokens WHERE user_id = ANY($1::text[]) ORDER BY user_id FOR UPDATE`;

/** A group's successes (RECORD_TOKEN_SUCCESS for each member) as one statement: one array per column, the rows paired by position. */
export const RECORD_TOKEN_SUCCESSES = `UPDATE tokens t SET drift_steps = u.drift_steps, last_step = u.last_step, consecutive_failures = 0, next_check_at = 0, last_success_at = u.at
  FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) AS u(user_id, drift_steps, last_step, at) WHERE t.user_id = u.user_id`;

/** A group's audit rows (APPEND_EVENT for each) as one statement, in the order given. */
export const APPEND_EVENTS = `INSERT INTO audit_queue (at, kind, service_id, user_id, actor, detail, nonce, writer_mac, part)
  SELECT at, kind, service_id, user_id, actor, detail, nonce, writer_mac, abs(hashtext(coalesce(user_id, ''))::bigint) % (SELECT count(*) FROM audit_head)
  FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bytea[], $8::bytea[])
    AS e(at, kind, service_id, user_id, actor, detail, nonce, writer_mac)`;

/**
 * Held writes that may share one statement, each with the table it changes: each changes one row of
 * its table, returns nothing anyone reads, and reads nothing another of them writes, so as
 * data-modifying CTEs of one statement (one snapshot, each run once) they do what they do one after
 * the other. A verification's two writes (the token's UPDATE, the audit row's INSERT) go as one
 * statement: one execution fewer for PostgreSQL, four protocol messages fewer each way.
 */
const MERGEABLE = new Map<string, string>([
  [RECORD_TOKEN_SUCCESS, "tokens"],
  [APPEND_EVENT, "audit_queue"],
  [RECORD_TOKEN_SUCCESSES, "tokens"],
  [APPEND_EVENTS, "audit_queue"],
]);
const mergedTexts = new Map<string, string>();

/** One statement doing `run`'s writes (distinct tables): all but the last as CTEs, parameters renumbered in order. */
function mergedStatement(run: Statement[]): Statement {
  const key = run.map(([text]) => text).join("\n;\n");
  let text = mergedTexts.get(key);
  if (text === undefined) {
    let shift = 0;
    const parts = run.map(([part, values]) => {
      const offset = shift;
      shift += values.length;
      return part.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`);
    });
    const ctes = parts.slice(0, -1).map((part, i) => `w${i + 1} AS (${part})`);
    text = `WITH ${ctes.join(", ")} ${parts[parts.length - 1]}`;
    mergedTexts.set(key, text);
  }
  return [text, run.flatMap(([, values]) => values)];
}

/** The held writes, runs of mergeable ones on distinct tables each as one statement (MERGEABLE). */
export function mergeHeld(held: readonly Statement[]): Statement[] {
  const out: Statement[] = [];
  let run: Statement[] = [];
  const flush = () => {
    if (run.length > 1) out.push(mergedStatement(run));
    else out.push(...run);
    run = [];
  };
  for (const statement of held) {
    const table = MERGEABLE.get(statement[0]);
    if (table === undefined) {
      flush();
      out.push(statement);
      continue;
    }
    if (run.some(([text]) => MERGEABLE.get(text) === table)) flush();
    run.push(statement);
  }
  flush();
  return out;
}

/**
 * Hands BEGIN (when `begin`), `statements` (named, values as parameters) and then `last` (a statement
 * without values: COMMIT) to the connection, pipelined, in one socket write (corked); their answers, in order.
 */
export function pipelined(client: PoolClient, begin: boolean, statements: readonly Statement[], last?: string): Promise<Pg.QueryResult>[] {
  const stream = (client as unknown as { connection?: { stream?: { cork?(): void; uncork?(): void } } }).connection?.stream;
  stream?.cork?.();
  try {
    const answers: Promise<Pg.QueryResult>[] = [];
    if (begin) answers.push(client.query("BEGIN"));
    for (const [text, values] of statements) answers.push(client.query({ name: statementName(text), text, values: values as unknown[] }));
    if (last !== undefined) answers.push(client.query(last));
    return answers;
  } finally {
    stream?.uncork?.();
  }
}

/** Every answer, or the first error among them (later ones only say the transaction is aborted), once all are in. */
export async function settle(answers: Promise<Pg.QueryResult>[]): Promise<Pg.QueryResult[]> {
  const settled = await Promise.allSettled(answers);
  const failed = settled.find((answer) => answer.status === "rejected");
  if (failed) throw failed.reason;
  return settled.map((answer) => (answer as PromiseFulfilledResult<Pg.QueryResult>).value);
}
