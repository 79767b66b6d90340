// `otp-token bank backup|restore|check|rekey` (issue 19, item 6; host/bank/README.md, "Operations"):
// the database as a whole. Kept apart from bank.ts, which gives them its common options' help and
// its error handling.
import { readFileSync } from "node:fs";
import { type AuditReport, Bank } from "../bank/bank.js";
import { formatHead, parseHeads } from "../bank/audit.js";
import { MasterKey } from "../bank/crypto.js";
import { isPostgresUrl, openStore } from "../bank/open-store.js";
import { backupSqlite, postgresIntegrity, restoreSqlite, sqliteIntegrity } from "../bank/operations.js";
import type { AuditHead } from "../bank/store.js";
import { StoreOpenError } from "../bank/store.js";
import { databaseOf } from "../defaults.js";
import { type Io, parse, UsageError } from "../usage.js";

const HEAD_HELP = `  --head ID:MAC           the audit head published earlier (bank serve's log line, its
                          --audit-head-file, 'bank audit verify'): a database whose trail ends
                          before it is older than what was published, and is reported as such;
                          a partitioned trail's heads (PART:ID:MAC for partition PART) separated
                          by commas
  --head-file FILE        the same, read from a file (one head a line, as bank serve writes it)
  --archive DIR           the audit archive ('bank audit archive --dir'): the trail is checked as
                          archive + database (a database whose trail was archived needs it)`;

/** The help of each operation, given bank.ts's common options. */
export function opsHelp(common: string): Record<string, string> {
  return {
    backup: `Usage: otp-token bank backup FILE [options]

Copies the SQLite bank database into FILE, a new file (never overwritten), mode 0600, with SQLite's
online backup API: one consistent committed state even while 'bank serve' writes (a commit during
the copy restarts it), the WAL included; 'cp' of the database file is neither. The copy holds
sealed secrets only: it is useless without the master key, which is never in it. For PostgreSQL use
pg_dump or pg_basebackup (host/bank/README.md, "Operations").

${common}
`,
    restore: `Usage: otp-token bank restore FILE --db NEW-PATH [--head ID:MAC | --head-file FILE] [--archive DIR]
                            [--older-ok] [options]

Restores a backup made by 'bank backup' as a new SQLite database at --db (an existing database is
refused). First the backup is checked: SQLite's integrity check, then the audit chain with the
master key (every row's MACs; with --head, the trail must reach every published head). A backup
whose trail ends before the published head is older than what the bank had published: it is
refused unless --older-ok (codes accepted since the backup could then be accepted again, and the
events since are gone).

Options:
${HEAD_HELP}
  --older-ok              restore a backup older than the published head anyway (said on stderr)

${common}
`,
    check: `Usage: otp-token bank check [--head ID:MAC | --head-file FILE] [--archive DIR] [options]

Checks the bank database: the store's integrity (SQLite: PRAGMA integrity_check, every page and
index; PostgreSQL: every table read in full, and each B-tree index with amcheck when the extension
is installed in the database), then the audit chain (as 'bank audit verify'). Exit status 1 when
either finds a problem.

Options:
${HEAD_HELP}

${common}
`,
    rekey: `Usage: otp-token bank rekey --new-master-key-file FILE [options]

Rotates the master key: every secret sealed under the current key (--master-key-file or the
environment, as usual) — token seeds, activation passwords, pending seeds, activation sessions,
the audit trail's keys and the key check — is re-sealed under the key in FILE (32 raw bytes or 64
hex digits, mode 0600) in one transaction that also records a 'rekey' event. All or nothing. Stop
every 'bank serve' first and start them again with the new key: the old key is refused from then
on. The audit trail verifies across the rotation (its keys are the same, sealed anew).

Options:
  --new-master-key-file FILE   the new master key

${common}
`,
  };
}

const COMMON_OPTIONS = {
  db: { type: "string" },
  "master-key-file": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;
const HEAD_OPTIONS = { head: { type: "string" }, "head-file": { type: "string" }, archive: { type: "string" } } as const;

function onePositional(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new UsageError(`give ${what}`);
  return positionals[0];
}

/**
 * The heads published earlier, from --head (one, or several separated by commas) or --head-file (one a
 * line): the same forms for every command that takes them ('bank audit verify', restore, check).
 */
export function publishedHeads(values: { head?: string; "head-file"?: string }): AuditHead[] | undefined {
  if (values.head !== undefined && values["head-file"] !== undefined) throw new UsageError("give --head or --head-file, not both");
  let text = values.head;
  if (values["head-file"] !== undefined) {
    try {
      text = readFileSync(values["head-file"], "utf8");
    } catch (error) {
      throw new UsageError(
        `cannot read the head file ${values["head-file"]}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      );
    }
  }
  if (text === undefined) return undefined;
  const heads = parseHeads(text);
  if (heads === null)
    throw new UsageError(
      "the head must be ID:MAC as 'bank audit verify' prints it: a row number, ':' and 64 hex digits (PART:ID:MAC for partition PART; several separated by commas, or a file with one line each)",
    );
  return heads;
}

/** The audit part of restore and check: one line saying what the chain showed; whether it is older than the head. */
function auditVerdict(report: AuditReport): { ok: boolean; older: boolean; line: string } {
  if (report.ok) {
    const heads = report.heads ?? [];
    return {
      ok: true,
      older: false,
      line:
        heads.length > 1 || (heads[0]?.part ?? 0) !== 0
          ? `the audit trail verifies: ${report.rows} rows in ${heads.length} partitions; heads: ${heads.map(formatHead).join(" ")}`
          : `the audit trail verifies: ${report.rows} rows; head: row ${report.head?.id ?? 0} ${report.head?.mac ?? ""}`,
    };
  }
  const bad = report.firstBad!;
  const behind = bad.behind;
  if (behind !== undefined) {
    const part = behind.part ?? 0;
    const ends = (report.heads ?? []).find((h) => (h.part ?? 0) === part)?.id ?? 0;
    const of = part === 0 ? "" : ` of partition ${part}`;
    return {
      ok: false,
      older: true,
      line: `this backup is older than the published audit head (row ${behind.id}${of}): its trail${of} ends at row ${ends}`,
    };
  }
  const where = bad.table === "queue" ? `queued row ${bad.id} (not yet sealed)` : `row ${bad.id}`;
  return { ok: false, older: false, line: `the audit trail is broken at ${where}: ${bad.reason}` };
}

async function withStoreBank<T>(db: string, keyFile: string | undefined, io: Io, use: (bank: Bank) => Promise<T>): Promise<T> {
  const masterKey = MasterKey.load(keyFile);
  const store = await openStore(db);
  try {
    return await use(await Bank.open(store, masterKey, { now: io.now, actor: "cli" }));
  } finally {
    await store.close();
  }
}

export async function runOps(sub: string, args: string[], io: Io): Promise<number> {
  switch (sub) {
    case "backup": {
      const { values, positionals } = parse(args, COMMON_OPTIONS);
      const target = onePositional(positionals, "the backup FILE to write");
      const source = databaseOf(values);
      const pages = await backupSqlite(source, target);
      io.out(`backed up ${source} to ${target} (${pages} pages, mode 0600)\n`);
      return 0;
    }
    case "restore": {
      const { values, positionals } = parse(args, { ...COMMON_OPTIONS, ...HEAD_OPTIONS, "older-ok": { type: "boolean" } });
      const backup = onePositional(positionals, "the backup FILE to restore");
      if (values.db === undefined) throw new UsageError("--db NEW-PATH is missing: restore writes a new database");
      if (isPostgresUrl(values.db))
        throw new UsageError("'bank restore' writes an SQLite database: restore PostgreSQL with pg_restore (README)");
      const published = publishedHeads(values);
      const problems = sqliteIntegrity(backup);
      if (problems.length > 0) throw new StoreOpenError(`${backup} fails the integrity check: ${problems.slice(0, 5).join("; ")}`);
      let verdict = "";
      await restoreSqlite(backup, values.db, async (copy) => {
        await withStoreBank(copy, values["master-key-file"], io, async (bank) => {
          const found = auditVerdict(await bank.verifyAudit(undefined, published, values.archive));
          verdict = found.line;
          if (found.older && values["older-ok"]) {
            io.err(`otp-token bank restore: ${found.line}; restored anyway (--older-ok)\n`);
            return;
          }
          if (!found.ok)
            throw new StoreOpenError(`${found.line}${found.older ? ": not restored (--older-ok restores it anyway)" : ": not restored"}`);
        });
      });
      io.out(`restored ${backup} to ${values.db}: the integrity check passes; ${verdict}\n`);
      return 0;
    }
    case "check": {
      const { values, positionals } = parse(args, { ...COMMON_OPTIONS, ...HEAD_OPTIONS });
      if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
      const published = publishedHeads(values);
      const db = databaseOf(values);
      let failed = false;
      if (isPostgresUrl(db)) {
        const { checked, problems } = await postgresIntegrity(db);
        io.out(`store: ${checked}\n`);
        for (const problem of problems) io.err(`otp-token bank check: ${problem}\n`);
        failed = problems.length > 0;
        if (!failed) io.out("store: no problem found\n");
      } else {
        const problems = sqliteIntegrity(db);
        for (const problem of problems.slice(0, 20)) io.err(`otp-token bank check: integrity: ${problem}\n`);
        if (problems.length > 0) {
          io.err(`otp-token bank check: ${db} fails SQLite's integrity check (${problems.length} problems): restore a backup\n`);
          return 1;
        }
        io.out("store: PRAGMA integrity_check ok\n");
      }
      return withStoreBank(db, values["master-key-file"], io, async (bank) => {
        const found = auditVerdict(await bank.verifyAudit(undefined, published, values.archive));
        if (found.ok) io.out(`${found.line}\n`);
        else io.err(`otp-token bank check: ${found.line}\n`);
        return failed || !found.ok ? 1 : 0;
      });
    }
    case "rekey": {
      const { values, positionals } = parse(args, { ...COMMON_OPTIONS, "new-master-key-file": { type: "string" } });
      if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
      if (values["new-master-key-file"] === undefined) throw new UsageError("--new-master-key-file FILE is missing");
      const newKey = MasterKey.fromFile(values["new-master-key-file"]);
      return withStoreBank(databaseOf(values), values["master-key-file"], io, async (bank) => {
        const report = await bank.rekey(newKey);
        io.out(
          `re-sealed under the new master key: ${report.seed} seeds, ${report["activation-password"]} activation passwords, ${report["pending-seed"]} pending seeds, ${report["activation-session"]} activation sessions, the audit keys and the key check\n`,
        );
        io.err("Start every instance with the new master key now: the old one is refused.\n");
        return 0;
      });
    }
  }
  throw new UsageError(`unknown bank subcommand ${JSON.stringify(sub)}`);
}
