// Where one verification's PostgreSQL work goes (issue 21): the statements each verification runs
// (pg_stat_statements: calls, execution time and WAL per verification, the audit sealer's included)
// and the WAL it writes by record type (pg_waldump between two LSNs), for our instance
// (bench/bank-instances.ts's server: the real service) or the minimal peer (bench/peer-server.ts),
// one at a time on a durable PostgreSQL, 32 clients. The window starts right after a CHECKPOINT, so
// full-page images (fpi) are at their highest: each page's first change after a checkpoint logs the
// whole page; in a long run they fade. bench/bank-capacity.ts measures the CPU side by side.
//
//   npm run build && node dist/bench/verification-profile.js [--of ours|peer] [--seconds 3] [--clients 32]
import { execFileSync, fork } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { openStore } from "../host/bank/open-store.js";
import type { PgStore } from "../host/bank/postgres/store.js";
import { PERIOD, prepare, runCell, START, type Server, seedOf, startServer, stopServers, userIdOf } from "./bank-instances.js";
import { PEER_SCHEMA, PEER_TOKEN } from "./peer-server.js";
import { postgresBin, postgresMissing, startPostgres } from "./postgres-server.js";

const TOKENS = 10_000;

async function startPeer(url: string, probe: PgStore): Promise<Server> {
  await probe.pool.query(PEER_SCHEMA);
  const ids = Array.from({ length: TOKENS }, (_, i) => i);
  await probe.pool.query(
    "INSERT INTO peer_tokens (user_id, seed, last_step) SELECT u, s, $3 FROM unnest($1::text[], $2::bytea[]) AS t(u, s)",
    [ids.map(userIdOf), ids.map(seedOf), Math.floor(START / PERIOD) - 1],
  );
  await probe.pool.query("VACUUM ANALYZE peer_tokens");
  const child = fork(fileURLToPath(new URL("./peer-server.js", import.meta.url)), ["--peer", url], { execArgv: [] });
  return new Promise((resolve, reject) => {
    child.once("message", (m) => resolve({ child, port: (m as { port: number }).port }));
    child.once("exit", (code) => reject(new Error(`peer exited with status ${code}`)));
  });
}

const stopPeer = (peer: Server) =>
  new Promise<void>((resolve) => {
    peer.child.once("exit", () => resolve());
    peer.child.send({ stop: true });
  });

/** pg_waldump --stats=record between two LSNs: bytes (records and full-page images) per record type. */
function walByRecord(dataDir: string, from: string, to: string): { type: string; count: number; bytes: number; fpi: number }[] {
  const out = execFileSync(join(postgresBin()!, "pg_waldump"), ["-p", join(dataDir, "pg_wal"), "-s", from, "-e", to, "--stats=record"], {
    encoding: "utf8",
  });
  const rows: { type: string; count: number; bytes: number; fpi: number }[] = [];
  for (const line of out.split("\n")) {
    const m = /^(\S+(?: \S+)*?)\s{2,}(\d+)\s+\(\s*[\d.]+\)\s+(\d+)\s+\(\s*[\d.]+\)\s+(\d+)\s+\(\s*[\d.]+\)\s+(\d+)/.exec(line);
    if (m && m[1] !== "Total") rows.push({ type: m[1], count: Number(m[2]), fpi: Number(m[4]), bytes: Number(m[5]) });
  }
  return rows.sort((a, b) => b.bytes - a.bytes);
}

async function main(): Promise<void> {
  const { values: options } = parseArgs({ options: { of: { type: "string" }, seconds: { type: "string" }, clients: { type: "string" } } });
  // Not "--peer": peer-server.js, imported for its schema, would take that for its own argument.
  const values = { ...options, peer: options.of === "peer" };
  const seconds = Number(values.seconds ?? 3);
  const clients = Number(values.clients ?? 32);
  const missing = postgresMissing();
  if (missing) {
    console.log(`verification profile: skipped, ${missing}`);
    return;
  }
  const pg = await startPostgres({
    durable: true,
    settings: {
      max_wal_size: "4GB",
      shared_buffers: "256MB",
      shared_preload_libraries: "pg_stat_statements",
      "pg_stat_statements.track": "all",
    },
  });
  let server: Server | null = null;
  try {
    pg.createDatabase("profile");
    const url = pg.url("profile");
    const { apiKey } = await prepare(url, TOKENS);
    const probe = (await openStore(url)) as PgStore;
    try {
      await probe.pool.query("CREATE EXTENSION pg_stat_statements");
      server = values.peer ? await startPeer(url, probe) : await startServer(url, 2);
      const key = values.peer ? PEER_TOKEN : apiKey;
      await runCell([server], key, TOKENS, clients, 1);
      await probe.pool.query("CHECKPOINT");
      await probe.pool.query("SELECT pg_stat_statements_reset()");
      const lsn = async () => (await probe.pool.query<{ l: string }>("SELECT pg_current_wal_lsn()::text AS l")).rows[0].l;
      const from = await lsn();
      const cell = await runCell([server], key, TOKENS, clients, seconds);
      // The sealer's last batch (SEAL_DELAY_MS after the last commit).
      await new Promise((resolve) => setTimeout(resolve, 500));
      const to = await lsn();
      const n = cell.count;
      const { rows } = await probe.pool.query<{ calls: string; ms: number; wal: string; fpi: string; q: string }>(
        `SELECT calls, total_exec_time AS ms, wal_bytes AS wal, wal_fpi AS fpi, left(regexp_replace(query, '\\s+', ' ', 'g'), 100) AS q
           FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
            AND query NOT LIKE '%pg_stat_statements%' AND query NOT LIKE '%pg_current_wal_lsn%' ORDER BY total_exec_time DESC`,
      );
      const sum = (f: (r: (typeof rows)[number]) => number) => rows.reduce((a, r) => a + f(r), 0) / n;
      console.log(
        `${values.peer ? "minimal peer" : "bank serve (ours)"}: ${n} verifications at ${clients} clients, ${cell.perSecond.toFixed(0)}/s\n` +
          `statements per verification ${sum((r) => Number(r.calls)).toFixed(2)}, execution ${(sum((r) => r.ms) * 1000).toFixed(0)} us, ` +
          `statements' WAL ${sum((r) => Number(r.wal)).toFixed(0)} bytes (after a checkpoint)`,
      );
      console.log(`  ${"calls/v".padStart(8)} ${"us/v".padStart(7)} ${"WAL B/v".padStart(8)}  statement`);
      for (const r of rows.slice(0, 16))
        console.log(
          `  ${(Number(r.calls) / n).toFixed(3).padStart(8)} ${((r.ms * 1000) / n).toFixed(1).padStart(7)} ${(Number(r.wal) / n).toFixed(0).padStart(8)}  ${r.q}`,
        );
      const dataDir = (await probe.pool.query<{ data_directory: string }>("SHOW data_directory")).rows[0].data_directory;
      const wal = walByRecord(dataDir, from, to);
      console.log(`WAL by record type (pg_waldump), per verification: ${(wal.reduce((a, r) => a + r.bytes, 0) / n).toFixed(0)} bytes`);
      for (const r of wal.slice(0, 12))
        console.log(
          `  ${r.type.padEnd(24)} ${(r.count / n).toFixed(2).padStart(6)} records ${(r.bytes / n).toFixed(0).padStart(6)} bytes (full-page images ${(r.fpi / n).toFixed(0)})`,
        );
    } finally {
      if (server) await (values.peer ? stopPeer(server) : stopServers([server]));
      await probe.close();
    }
  } finally {
    pg.stop();
  }
}

await main();
