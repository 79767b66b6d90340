// What is the PostgreSQL store's own (host/bank/postgres/): migrations when instances start at once,
// the refusals when opening, parameters (no value in SQL text) and round trips, and the retry rules: a transaction whose connection drops
// before COMMIT runs again, a COMMIT whose answer is lost is decided by its commit id and never simply
// run again (also across a crash, where the transaction id of the old rule is handed out again), a
// deadlock is retried, the database down is StoreBusyError and comes back by itself; commit ids are
// pruned; and the audit chain sealed from two instances at once. The store conformance suite
// (test/bank-store.test.ts) and the bank's tests (test/bank.test.ts) run on PostgreSQL too. This
// file's server commits synchronously (fsync still off): what a test commits before it restarts the
// server must survive the restart, and it does, the WAL being written to the OS at each commit.
import { createServer, Socket } from "node:net";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { verifyChain } from "../host/bank/audit.js";
import { signed, testAuditKeys, testAuditSetup } from "./audit-helpers.js";
import { COMMIT_ID_KEEP_MS, lostCommitOutcome, migrate, type PgStore } from "../host/bank/postgres/store.js";
import { SCHEMA_VERSION as PG_SCHEMA_VERSION } from "../host/bank/postgres/schema.js";
import { mergeHeld } from "../host/bank/postgres/statements.js";
import { type BankStore, StoreBusyError, StoreOpenError, type StoreTx, VERIFIABLE_TOKEN_COLUMNS } from "../host/bank/store.js";
import { openStore } from "../host/bank/open-store.js";
import { POSTGRES_SKIP, usePostgres } from "./pg-helpers.js";
import { tokenRow } from "./bank-helpers.js";
import { commitLosingRelay as losingRelay } from "./pg-relay.js";

const postgres = usePostgres({ settings: { synchronous_commit: "on", autovacuum: "off" } });
const KEY = new Uint8Array(32).fill(7);
const opened: { close(): Promise<void> }[] = [];
const commitLosingRelay = (port: number) => losingRelay(port, opened);

afterEach(async () => {
  // Last opened first: a relay closes once the stores connected through it have closed.
  for (const store of opened.splice(0).reverse()) await store.close().catch(() => undefined);
});

async function open(url: string, create = true): Promise<PgStore> {
  const store = (await openStore(url, { create })) as PgStore;
  opened.push(store);
  await store.useAudit(testAuditSetup(KEY));
  return store;
}

/** A store with tokens 2083L000000nA001 for n = 1..count. */
async function withTokens(store: BankStore, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let n = 1; n <= count; n++) {
    const userId = `2083L${String(n).padStart(7, "0")}A001`;
    await store.transaction(async (tx) => tx.replaceToken(tokenRow((await tx.insertCustomer(1))!.customer_id, userId)));
    ids.push(userId);
  }
  return ids;
}

const oneLine = (error: unknown) => {
  expect(error).toBeInstanceOf(StoreOpenError);
  expect((error as Error).message).not.toContain("\n");
  return (error as Error).message;
};

/**
 * A TCP relay in front of the server counting, per connection, the flights the client sends (one per
 * round trip) and the statement texts it parses (the extended protocol's Parse messages).
 */
async function flightCountingRelay(port: number): Promise<{ port: number; flights: Map<number, number>; parses: Map<number, string[]> }> {
  // By the client's port.
  const flights = new Map<number, number>();
  const parses = new Map<number, string[]>();
  const server = createServer((client) => {
    const upstream = new Socket();
    let answered = true;
    let pending = Buffer.alloc(0);
    let started = false;
    const from = client.remotePort!;
    flights.set(from, 0);
    parses.set(from, []);
    const read = (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        // The startup message has no type byte; every later one: type, length (itself included), body.
        const header = started ? 1 : 0;
        if (pending.length < header + 4) return;
        const length = pending.readUInt32BE(header);
        if (pending.length < header + length) return;
        if (started && pending[0] === 0x50) {
          const name = pending.indexOf(0, 5);
          parses.get(from)!.push(pending.subarray(name + 1, pending.indexOf(0, name + 1)).toString());
        }
        pending = pending.subarray(header + length);
        started = true;
      }
    };
    upstream.connect(port, "127.0.0.1");
    upstream.on("data", (chunk) => {
      answered = true;
      client.write(chunk);
    });
    client.on("data", (chunk) => {
      if (answered) flights.set(from, flights.get(from)! + 1);
      answered = false;
      read(chunk);
      upstream.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on("error", end);
      socket.on("close", end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  opened.push({ close: () => new Promise<void>((resolve) => server.close(() => resolve())) });
  return { port: typeof address === "object" && address ? address.port : 0, flights, parses };
}

if (POSTGRES_SKIP !== null) it.skip(`PostgreSQL store tests skipped: ${POSTGRES_SKIP}`, () => undefined);

describe.skipIf(POSTGRES_SKIP !== null)("PostgreSQL store", () => {
  it("four instances opening a new database at once: each migration runs once, in its own transaction", async () => {
    const url = postgres.freshUrl();
    const stores = await Promise.all(Array.from({ length: 4 }, () => openStore(url, { create: true })));
    opened.push(...stores);
    const { rows } = await (stores[0] as PgStore).pool.query("SELECT version FROM schema_migrations ORDER BY version");
    expect(rows.map((r) => r.version)).toEqual(Array.from({ length: PG_SCHEMA_VERSION }, (_, i) => i + 1));
    // A slow migration, two migrators at once: the second waits on the advisory lock, then finds it applied.
    const other = postgres.freshUrl();
    const pools = [new pg.Pool({ connectionString: other }), new pg.Pool({ connectionString: other })];
    opened.push(...pools.map((p) => ({ close: () => p.end() })));
    const steps = ["CREATE TABLE ran (step integer)", "INSERT INTO ran VALUES (2); SELECT pg_sleep(0.3)", "INSERT INTO ran VALUES (3)"];
    await Promise.all(pools.map((pool) => migrate(pool, "test", true, steps)));
    expect((await pools[0].query("SELECT step FROM ran ORDER BY step")).rows).toEqual([{ step: 2 }, { step: 3 }]);
    expect((await pools[0].query("SELECT count(*)::int AS n FROM schema_migrations")).rows).toEqual([{ n: 3 }]);
    // A migration that fails leaves its version unapplied and nothing of it behind.
    await expect(migrate(pools[0], "test", true, [...steps, "CREATE TABLE half (x integer); SELECT 1/0"])).rejects.toThrow(
      /division by zero/,
    );
    expect((await pools[0].query("SELECT to_regclass('half') AS t, (SELECT max(version) FROM schema_migrations) AS v")).rows).toEqual([
      { t: null, v: 3 },
    ]);
  }, 60_000);

  it("refuses, in one line each: no bank schema yet, another application's database, a newer schema, no such database, no server", async () => {
    const empty = postgres.freshUrl();
    expect(oneLine(await openStore(empty).catch((e: unknown) => e))).toMatch(
      /has no bank schema yet: run 'otp-token bank init --db postgres:\/\/bank@127\.0\.0\.1:\d+\/bank_\d+'/,
    );
    const foreign = postgres.freshUrl();
    const client = new pg.Client({ connectionString: foreign });
    await client.connect();
    await client.query("CREATE TABLE invoices (id integer)");
    await client.end();
    expect(oneLine(await openStore(foreign).catch((e: unknown) => e))).toMatch(/is a PostgreSQL database but not a bank database/);
    const newer = postgres.freshUrl();
    const store = await open(newer);
    await store.pool.query("INSERT INTO schema_migrations (version) VALUES (99)");
    expect(oneLine(await openStore(newer).catch((e: unknown) => e))).toMatch(
      new RegExp(`has schema version 99, newer than this program's ${PG_SCHEMA_VERSION}: upgrade otp-token`),
    );
    expect(oneLine(await openStore(postgres.server.url("nowhere")).catch((e: unknown) => e))).toMatch(
      /database "nowhere" does not exist: create it first/,
    );
    const unused = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === "object" && address ? address.port : 0));
      });
    });
    expect(oneLine(await openStore(`postgres://bank:secret@127.0.0.1:${unused}/bank`).catch((e: unknown) => e))).toMatch(
      new RegExp(`cannot reach PostgreSQL at postgres://bank:\\*\\*\\*@127\\.0\\.0\\.1:${unused}/bank: connection refused`),
    );
  }, 60_000);

  it("values travel only as parameters of named statements, never in SQL text: a verification's statements and a failed one's; quotes, backslashes, dollar signs and any Unicode come back as written", async () => {
    // No audit sealer (no useAudit): every statement recorded is the transactions'.
    const store = (await openStore(postgres.freshUrl(), { create: true })) as PgStore;
    opened.push(store);
    const [first, second] = await withTokens(store, 2);
    const sent: { text: string; name?: string; values: unknown[] }[] = [];
    const query = pg.Client.prototype.query;
    pg.Client.prototype.query = function (this: pg.Client, config: unknown, values?: unknown, callback?: unknown) {
      const c = config as string | { text: string; name?: string; values?: unknown[] };
      if (typeof c === "string") sent.push({ text: c, values: Array.isArray(values) ? values : [] });
      else sent.push({ text: c.text, name: c.name, values: c.values ?? (Array.isArray(values) ? values : []) });
      return (query as (...args: unknown[]) => unknown).call(this, config, values, callback);
    } as typeof query;
    const tricky = ["it's", "back\\slash", "$1 $2 '; DROP TABLE tokens; --", "E'\\x'", "利用開始パスワード 🔑", "tab\there"];
    // What a verification asks of the store (rooms/verification.ts), then a failed one, on each token.
    const verification = (userId: string, step: number, detail: string) =>
      store.transaction(async (tx) => {
        const token = (await tx.verifiableToken(userId))!;
        await tx.recordTokenSuccess(userId, 1, token.last_step + step, 7_000_001 + step);
        await tx.appendEvent(
          signed(testAuditKeys(KEY), { at: 7_000_001, kind: "login", service_id: null, user_id: userId, actor: "api-7311", detail }),
        );
      });
    const failure = (userId: string) =>
      store.transaction(async (tx) => {
        await tx.verifiableToken(userId);
        await tx.recordTokenFailure(userId, 5, 7_000_999);
      });
    const texts = async (work: () => Promise<unknown>) => {
      const from = sent.length;
      await work();
      return sent.slice(from).map((q) => q.text);
    };
    try {
      const verifying = await texts(() => verification(first, 1000, tricky[0]));
      const failing = await texts(() => failure(first));
      // BEGIN, the SELECT (only the columns a code check reads), the UPDATE and the audit INSERT as one statement (its nonce the commit id), COMMIT.
      expect(verifying).toEqual([
        "BEGIN",
        `SELECT ${VERIFIABLE_TOKEN_COLUMNS.join(", ")} FROM tokens WHERE user_id = $1 FOR UPDATE`,
        expect.stringMatching(
          /^WITH w1 AS \(UPDATE tokens .* WHERE user_id = \$4\) INSERT INTO audit_queue .* VALUES \(\$5, .*coalesce\(\$8, ''\)/,
        ),
        "COMMIT",
      ]);
      // No event recorded: the commit id's own INSERT before COMMIT.
      expect(failing).toHaveLength(5);
      expect(failing[3]).toMatch(/^INSERT INTO commit_ids/);
      // The same statements, whatever the values: the text never depends on them.
      for (const [i, detail] of tricky.entries()) expect(await texts(() => verification(second, 2000 + i, detail))).toEqual(verifying);
      expect(await texts(() => failure(second))).toEqual(failing);
    } finally {
      pg.Client.prototype.query = query;
    }
    const values = sent.flatMap((q) => q.values);
    expect(values).toEqual(expect.arrayContaining([first, second, 7_000_999, ...tricky]));
    const shown = values.flatMap((v) => (v instanceof Uint8Array ? [Buffer.from(v).toString("hex")] : v === null ? [] : [String(v)]));
    for (const q of sent) {
      // Only BEGIN, COMMIT and ROLLBACK go without a name, and they carry nothing.
      if (q.name === undefined)
        expect({ text: q.text, values: q.values }).toEqual({ text: expect.stringMatching(/^(BEGIN|COMMIT|ROLLBACK)$/), values: [] });
      for (const value of shown) if (value.length >= 3) expect(q.text).not.toContain(value);
    }
    expect(sent.filter((q) => q.name !== undefined).length).toBeGreaterThan(10);
    const queued = await store.pool.query("SELECT detail FROM audit_queue WHERE user_id = $1 ORDER BY queue_id", [second]);
    expect(queued.rows.map((r) => r.detail)).toEqual(tricky);
    expect((await store.pool.query("SELECT to_regclass('tokens') AS t")).rows[0].t).toBe("tokens");
  });

  it("round trips: a verification is two (BEGIN with the token's SELECT FOR UPDATE; the writes and COMMIT), a transaction whose writes nobody awaits one, each statement prepared once per connection", async () => {
    const url = postgres.freshUrl();
    const setup = await open(url);
    const [userId] = await withTokens(setup, 1);
    const relay = await flightCountingRelay(postgres.server.port);
    // No audit sealer: every flight through the relay is the transactions'.
    const store = (await openStore(url.replace(`:${postgres.server.port}/`, `:${relay.port}/`))) as PgStore;
    opened.push(store);
    /** The flights of one transaction, on its connection (other connections may be pruning commit ids meanwhile). */
    const roundTrips = async (work: (tx: StoreTx) => Promise<unknown>) => {
      let port = 0;
      let before = 0;
      await store.transaction(async (tx) => {
        port = (tx as unknown as { client: { connection: { stream: Socket } } }).client.connection.stream.localPort!;
        before = relay.flights.get(port)!;
        return work(tx);
      });
      return relay.flights.get(port)! - before;
    };
    for (let step = 1; step <= 3; step++) {
      const verification = (tx: StoreTx) =>
        (async () => {
          const token = (await tx.verifiableToken(userId))!;
          // Only the columns a code check reads come back (not the customer, issue, dates or PSKC fields).
          expect(Object.keys(token).sort()).toEqual([...VERIFIABLE_TOKEN_COLUMNS].sort());
          await tx.recordTokenSuccess(userId, 0, token.last_step + 1, 5000 + step);
          await tx.appendEvent(
            signed(testAuditKeys(KEY), { at: 5000, kind: "login", service_id: null, user_id: userId, actor: "test", detail: null }),
          );
        })();
      expect(await roundTrips(verification)).toBe(2);
      expect(await roundTrips((tx) => tx.setTokenState(userId, step === 2 ? "suspended" : "active"))).toBe(1);
    }
    expect((await setup.getToken(userId))!.last_step).toBe(103);
    // Prepared once: on every connection, each statement's Parse went once, and the values never in it.
    const parses = [...relay.parses.values()];
    expect(parses.flat()).toEqual(
      expect.arrayContaining([`SELECT ${VERIFIABLE_TOKEN_COLUMNS.join(", ")} FROM tokens WHERE user_id = $1 FOR UPDATE`]),
    );
    for (const texts of parses) expect(new Set(texts).size).toBe(texts.length);
    expect(parses.flat().some((text) => text.includes(userId))).toBe(false);
  });

  it("runs a transaction again when its connection drops before COMMIT: the failure is counted once", async () => {
    const url = postgres.freshUrl();
    const store = await open(url);
    const [userId] = await withTokens(store, 1);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    opened.push({ close: () => admin.end() });
    let attempts = 0;
    const result = await store.transaction(async (tx) => {
      attempts++;
      const before = (await tx.getToken(userId))!;
      // The first time, the connection goes while the transaction holds the row (the server sees it idle in transaction).
      if (attempts === 1)
        await admin.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'idle in transaction' AND datname = current_database()",
        );
      return tx.recordTokenFailure(userId, 10, before.consecutive_failures + 100);
    });
    expect(attempts).toBe(2);
    expect(result).toEqual({ failures: 1, locked: false });
    expect(await store.getToken(userId)).toMatchObject({ consecutive_failures: 1, next_check_at: 100 });
  });

  it("a COMMIT whose answer is lost is asked about, never simply run again: committed -> its result stands; not committed -> run again", async () => {
    const url = postgres.freshUrl();
    const setup = await open(url);
    const [userId] = await withTokens(setup, 1);
    const relay = await commitLosingRelay(postgres.server.port);
    const store = await open(url.replace(`:${postgres.server.port}/`, `:${relay.port}/`), false);
    const count = async () => {
      let attempts = 0;
      const result = await store.transaction(async (tx) => {
        attempts++;
        await tx.getToken(userId);
        return tx.recordTokenFailure(userId, 10, 5000);
      });
      return { attempts, result };
    };
    relay.arm("answer");
    // The COMMIT reached the server and committed; its answer never came back.
    expect(await count()).toEqual({ attempts: 1, result: { failures: 1, locked: false } });
    expect((await setup.getToken(userId))!.consecutive_failures).toBe(1);
    relay.arm("request");
    // The COMMIT never reached the server: the transaction was rolled back, and runs again.
    expect(await count()).toEqual({ attempts: 2, result: { failures: 2, locked: false } });
    expect((await setup.getToken(userId))!.consecutive_failures).toBe(2);
  }, 60_000);

  it("after a crash PostgreSQL hands a transaction id out again (pg_xact_status then says 'committed' of a transaction that left nothing); a COMMIT lost in the crash is decided by its commit id: not committed, run again, applied once", async () => {
    const url = postgres.freshUrl();
    const setup = await open(url);
    const [userId] = await withTokens(setup, 1);
    const admin = async <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => {
      const client = new pg.Client({ connectionString: url });
      client.on("error", () => undefined);
      await client.connect();
      try {
        return await work(client);
      } finally {
        await client.end().catch(() => undefined);
      }
    };
    // Committed transactions, each with a transaction id of its own: the ids handed out after a crash.
    const commits = (count: number) =>
      admin(async (client) => {
        const ids: bigint[] = [];
        for (let i = 0; i < count; i++)
          ids.push(BigInt((await client.query("INSERT INTO filler VALUES (1) RETURNING pg_current_xact_id()::text AS xid")).rows[0].xid));
        return ids;
      });

    await admin((client) => client.query("CREATE TABLE filler (n integer)"));
    // The old rule's premise, checked: a transaction's id, read at BEGIN; the server crashes before COMMIT.
    const victim = new pg.Client({ connectionString: url });
    victim.on("error", () => undefined);
    await victim.connect();
    await victim.query("BEGIN");
    const xid = BigInt((await victim.query("SELECT pg_current_xact_id()::text AS xid")).rows[0].xid);
    await postgres.server.restartImmediate();
    await victim.end().catch(() => undefined);
    const after = await commits(20);
    expect(after).toContain(xid);
    // Nothing of the victim committed, yet its id reads "committed": pg_xact_status cannot decide a lost COMMIT.
    expect((await admin((client) => client.query("SELECT pg_xact_status($1::text::xid8) AS s", [xid.toString()]))).rows).toEqual([
      { s: "committed" },
    ]);

    // The store: a transaction whose whole COMMIT message is held by the relay while the server crashes
    // and other transactions commit (taking the ids again), then its connection drops.
    const relay = await commitLosingRelay(postgres.server.port);
    const store = await open(url.replace(`:${postgres.server.port}/`, `:${relay.port}/`), false);
    relay.arm(async () => {
      await postgres.server.restartImmediate();
      await commits(20);
    });
    let attempts = 0;
    const result = await store.transaction(async (tx) => {
      attempts++;
      await tx.recordTokenSuccess(userId, 0, 200, 5000);
      await tx.appendEvent(
        signed(testAuditKeys(KEY), { at: 5000, kind: "login", service_id: null, user_id: userId, actor: "test", detail: null }),
      );
      return "accepted";
    });
    // Before this rule the store asked pg_xact_status, was told "committed", and answered with nothing stored (attempts 1, last_step 100).
    expect({ result, attempts }).toEqual({ result: "accepted", attempts: 2 });
    expect(await setup.getToken(userId)).toMatchObject({ last_step: 200, last_success_at: 5000 });
    expect((await setup.eventsOf(userId, 10)).map((e) => e.kind)).toEqual(["login"]);
  }, 120_000);

  it("the lost-commit check: a commit id found is 'committed'; absent once the server process that ran it is gone (terminated if it lingers) is 'not committed'; too late or without that process, the outcome stays unknown (StoreBusyError)", async () => {
    const url = postgres.freshUrl();
    const store = await open(url);
    const [userId] = await withTokens(store, 1);
    // Every committed transaction leaves its commit id.
    const before = (await store.pool.query("SELECT count(*)::int AS n FROM commit_ids")).rows[0].n;
    await store.transaction((tx) => tx.unlockToken(userId));
    const ids = (await store.pool.query<{ id: Buffer }>("SELECT id FROM commit_ids")).rows.map((r) => r.id);
    expect(ids).toHaveLength(before + 1);
    const lingering = async () => {
      const client = new pg.Client({ connectionString: url, application_name: "otp-token bank" });
      client.on("error", () => undefined);
      await client.connect();
      opened.push({ close: () => client.end().catch(() => undefined) });
      await client.query("BEGIN");
      return (client as unknown as { processID: number }).processID;
    };
    const alive = async (pid: number) => (await store.pool.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [pid])).rowCount === 1;
    const now = () => performance.now();

    const pid = await lingering();
    expect(await lostCommitOutcome(store.pool, { commitId: ids[ids.length - 1], backendPid: pid, sentAt: now() })).toBe("committed");
    expect(await alive(pid)).toBe(true);
    const unknownId = new Uint8Array(16).fill(9);
    expect(await lostCommitOutcome(store.pool, { commitId: unknownId, backendPid: pid, sentAt: now() })).toBe("not committed");
    expect(await alive(pid)).toBe(false);
    // Its COMMIT sent longer ago than ids are surely kept: an absent id proves nothing.
    const gone = await lingering();
    await store.pool.query("SELECT pg_terminate_backend($1)", [gone]);
    await expect(
      lostCommitOutcome(store.pool, { commitId: unknownId, backendPid: gone, sentAt: now() - COMMIT_ID_KEEP_MS }, 600),
    ).rejects.toThrow(/outcome is not known/);
    await expect(lostCommitOutcome(store.pool, { commitId: unknownId, backendPid: null, sentAt: now() }, 600)).rejects.toBeInstanceOf(
      StoreBusyError,
    );
  }, 60_000);

  it("a transaction that records an event has its event's nonce as commit id: no commit_ids row; a COMMIT lost with such a transaction is decided by the nonce, queued or sealed", async () => {
    const url = postgres.freshUrl();
    const setup = await open(url);
    const [userId] = await withTokens(setup, 1);
    const commitIds = async () => (await setup.pool.query("SELECT count(*)::int AS n FROM commit_ids")).rows[0].n as number;
    const events = async () => (await setup.eventsOf(userId, 100)).length;
    const relay = await commitLosingRelay(postgres.server.port);
    const store = await open(url.replace(`:${postgres.server.port}/`, `:${relay.port}/`), false);
    let step = 100;
    const verify = async () => {
      let attempts = 0;
      let nonce: Uint8Array | null = null;
      await store.transaction(async (tx) => {
        attempts++;
        const token = (await tx.getToken(userId))!;
        step = token.last_step + 1;
        await tx.recordTokenSuccess(userId, 0, step, 5000);
        const event = signed(testAuditKeys(KEY), {
          at: 5000,
          kind: "login",
          service_id: null,
          user_id: userId,
          actor: "test",
          detail: null,
        });
        nonce = event.nonce;
        await tx.appendEvent(event);
        // The event's nonce is the attempt's commit id.
        expect(Buffer.from((tx as unknown as { commitId: Uint8Array }).commitId)).toEqual(Buffer.from(event.nonce));
      });
      return { attempts, nonce: nonce! };
    };
    const idsBefore = await commitIds();
    const plain = await verify();
    expect(plain.attempts).toBe(1);
    // No row of its own beside the event.
    expect(await commitIds()).toBe(idsBefore);
    // Its nonce decides a lost COMMIT whether the event is still queued or already sealed into events.
    const lingering = async () => {
      const client = new pg.Client({ connectionString: url, application_name: "otp-token bank" });
      client.on("error", () => undefined);
      await client.connect();
      opened.push({ close: () => client.end().catch(() => undefined) });
      return (client as unknown as { processID: number }).processID;
    };
    await setup.sealAudit();
    expect((await setup.pool.query("SELECT count(*)::int AS n FROM audit_queue")).rows[0].n).toBe(0);
    const sealed = { commitId: plain.nonce, isNonce: true, sentAt: performance.now() };
    expect(await lostCommitOutcome(setup.pool, { ...sealed, backendPid: await lingering() })).toBe("committed");
    expect(await lostCommitOutcome(setup.pool, { ...sealed, commitId: new Uint8Array(16).fill(3), backendPid: await lingering() })).toBe(
      "not committed",
    );
    // Lost answers, through the store: committed -> the result stands (one event); not committed -> run again (one event).
    relay.arm("answer");
    expect((await verify()).attempts).toBe(1);
    expect(await events()).toBe(2);
    relay.arm("request");
    expect((await verify()).attempts).toBe(2);
    expect(await events()).toBe(3);
    expect((await setup.getToken(userId))!.last_step).toBe(step);
    expect(await commitIds()).toBe(idsBefore);
  }, 60_000);

  it("held writes to distinct tables merge into one statement (data-modifying CTEs), parameters renumbered in order; a second write to the same table, or any other statement, starts a new one", () => {
    const update =
      "UPDATE tokens SET drift_steps = $1, last_step = $2, consecutive_failures = 0, next_check_at = 0, last_success_at = $3 WHERE user_id = $4";
    const insert =
      "INSERT INTO audit_queue (at, kind, service_id, user_id, actor, detail, nonce, writer_mac, part) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, abs(hashtext(coalesce($4, ''))::bigint) % (SELECT count(*) FROM audit_head))";
    const other = "UPDATE tokens SET state = $1 WHERE user_id = $2";
    const u = [update, [0, 101, 5000, "u1"]] as const;
    const e = [insert, [5000, "login", null, "u1", "test", null, "n", "m"]] as const;
    const [merged, ...rest] = mergeHeld([u, e]);
    expect(rest).toEqual([]);
    expect(merged[0]).toBe(
      `WITH w1 AS (${update}) INSERT INTO audit_queue (at, kind, service_id, user_id, actor, detail, nonce, writer_mac, part) VALUES ($5, $6, $7, $8, $9, $10, $11, $12, abs(hashtext(coalesce($8, ''))::bigint) % (SELECT count(*) FROM audit_head))`,
    );
    expect(merged[1]).toEqual([...u[1], ...e[1]]);
    // Two events (one table): two statements, the first merged with the update; another statement in between: no merge across it.
    expect(mergeHeld([u, e, e]).map(([text]) => text.slice(0, 12))).toEqual(["WITH w1 AS (", "INSERT INTO "]);
    expect(mergeHeld([u, [other, ["suspended", "u1"]], e]).map(([text]) => text.slice(0, 12))).toEqual([
      "UPDATE token",
      "UPDATE token",
      "INSERT INTO ",
    ]);
    expect(mergeHeld([e, u])[0][0]).toMatch(
      /^WITH w1 AS \(INSERT INTO audit_queue .*\) UPDATE tokens SET drift_steps = \$9, .* WHERE user_id = \$12$/,
    );
  });

  it("migration 10: a verification's token UPDATE is heap-only (HOT: no index entries) even on a page its table filled", async () => {
    const store = await open(postgres.freshUrl());
    const ids = await withTokens(store, 80);
    const client = await store.pool.connect();
    try {
      await client.query("BEGIN");
      // The first tokens' page was filled as far as the table lets inserts fill it.
      for (const userId of ids.slice(0, 5))
        await client.query(
          "UPDATE tokens SET drift_steps = $1, last_step = $2, consecutive_failures = 0, next_check_at = 0, last_success_at = $3 WHERE user_id = $4",
          [1, 200, 5000, userId],
        );
      const { rows } = await client.query(
        "SELECT n_tup_upd::int AS updates, n_tup_hot_upd::int AS hot FROM pg_stat_xact_user_tables WHERE relname = 'tokens'",
      );
      expect(rows).toEqual([{ updates: 5, hot: 5 }]);
      const pages = await client.query("SELECT (ctid::text::point)[0]::int AS page, count(*)::int AS n FROM tokens GROUP BY 1 ORDER BY 1");
      expect(pages.rows.length).toBeGreaterThan(1);
      await client.query("ROLLBACK");
    } finally {
      client.release();
    }
    expect((await store.pool.query("SELECT reloptions FROM pg_class WHERE relname = 'tokens'")).rows).toEqual([
      { reloptions: ["fillfactor=80"] },
    ]);
  }, 60_000);

  it("commit ids are pruned once older than COMMIT_ID_KEEP_MS; younger ones stay", async () => {
    const store = await open(postgres.freshUrl());
    await store.pool.query("DELETE FROM commit_ids");
    await store.pool.query(
      `INSERT INTO commit_ids (id, at) SELECT decode(lpad(to_hex(n), 32, '0'), 'hex'), clock_timestamp() - make_interval(secs => $1)
         FROM generate_series(1, 12000) AS n`,
      [COMMIT_ID_KEEP_MS / 1000 + 5],
    );
    await store.pool.query(
      `INSERT INTO commit_ids (id) SELECT decode(lpad(to_hex(n), 32, '0'), 'hex') FROM generate_series(20001, 20010) AS n`,
    );
    expect(await store.pruneCommitIds()).toBe(12000);
    expect((await store.pool.query("SELECT count(*)::int AS n FROM commit_ids")).rows).toEqual([{ n: 10 }]);
  }, 60_000);

  it("a deadlock between two instances is retried: both transactions commit", async () => {
    const url = postgres.freshUrl();
    const [first, second] = [await open(url), await open(url, false)];
    const [a, b] = await withTokens(first, 2);
    let attempts = 0;
    let arrived = 0;
    let release: () => void = () => undefined;
    const bothHoldOne = new Promise<void>((resolve) => (release = resolve));
    const crossing = (store: PgStore, mine: string, theirs: string) =>
      store.transaction(async (tx) => {
        attempts++;
        await tx.getToken(mine);
        if (++arrived === 2) release();
        await bothHoldOne;
        await tx.getToken(theirs);
        return tx.recordTokenFailure(theirs, 10, 0);
      });
    await Promise.all([crossing(first, a, b), crossing(second, b, a)]);
    expect(attempts).toBe(3);
    expect([(await first.getToken(a))!.consecutive_failures, (await first.getToken(b))!.consecutive_failures]).toEqual([1, 1]);
  }, 60_000);

  it("the server down: transactions and reads fail fast with StoreBusyError (the service's 503); back up, the same store works again", async () => {
    const store = await open(postgres.freshUrl());
    const [userId] = await withTokens(store, 1);
    postgres.server.stopServer();
    try {
      const started = Date.now();
      await expect(store.transaction((tx) => tx.recordTokenFailure(userId, 10, 0))).rejects.toBeInstanceOf(StoreBusyError);
      await expect(store.getSetting("service_id")).rejects.toBeInstanceOf(StoreBusyError);
      expect(Date.now() - started).toBeLessThan(30_000);
    } finally {
      postgres.server.startServer();
    }
    expect(await store.transaction((tx) => tx.recordTokenFailure(userId, 10, 0))).toEqual({ failures: 1, locked: false });
  }, 120_000);

  it("the audit trail written by two instances at once: every committed event chained exactly once, rolled-back ones never, one token's events in order", async () => {
    const url = postgres.freshUrl();
    const instances = [await open(url), await open(url, false)];
    const append = (store: PgStore, kind: string, userId: string, thenFail = false) =>
      store.transaction(async (tx) => {
        await tx.appendEvent(signed(testAuditKeys(KEY), { at: 1, kind, service_id: null, user_id: userId, actor: "test", detail: null }));
        if (thenFail) throw new Error("rolled back");
      });
    const noise = Array.from({ length: 300 }, (_, i) =>
      append(instances[i % 2], `noise-${i}`, `N${i % 7}`, i % 10 === 9).catch(() => "rolled back"),
    );
    // One token's events, each after the one before committed, from alternating instances.
    for (let step = 0; step < 20; step++) await append(instances[step % 2], `ordered-${step}`, "ORDERED");
    await Promise.all(noise);
    const rows = await instances[0].events(0, 10_000);
    expect(rows.map((r) => r.id)).toEqual(Array.from({ length: rows.length }, (_, i) => i + 1));
    const kinds = rows.map((r) => r.kind);
    expect(kinds.filter((k) => k.startsWith("noise-")).sort()).toEqual(
      Array.from({ length: 300 }, (_, i) => `noise-${i}`)
        .filter((_, i) => i % 10 !== 9)
        .sort(),
    );
    expect(kinds.filter((k) => k.startsWith("ordered-"))).toEqual(Array.from({ length: 20 }, (_, i) => `ordered-${i}`));
    const report = await verifyChain(
      testAuditKeys(KEY),
      (async function* () {
        yield rows;
      })(),
    );
    expect(report).toMatchObject({ ok: true, rows: 290 });
    expect((await instances[1].pool.query("SELECT count(*)::int AS n FROM audit_queue")).rows).toEqual([{ n: 0 }]);
    // Sealed in batches, not one sealing transaction per event.
    const sealing = [instances[0].sealing, instances[1].sealing];
    expect(sealing[0].sealed + sealing[1].sealed).toBe(290);
    expect(sealing[0].batches + sealing[1].batches).toBeLessThan(290);
  }, 60_000);
});
