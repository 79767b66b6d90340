// The statements of a PostgreSQL transaction as tx.ts sends them: each text's one name (prepared
// once per connection), and the held writes that go as one statement (mergeHeld).
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
export const APPEND_EVENT =
  "INSERT INTO audit_queue (at, kind, service_id, user_id, actor, detail, nonce, writer_mac, part) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, abs(hashtext(coalesce($4, ''))::bigint) % (SELECT count(*) FROM audit_head))";

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
