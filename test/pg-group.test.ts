// Verifications grouped into one PostgreSQL transaction (host/bank/postgres/group.ts), on a real
// server (test/pg-helpers.ts): 32 concurrent verifications of distinct tokens commit in fewer
// transactions than 32 (counted by the server: the distinct transaction ids that wrote the token
// rows) and each is answered as alone; the same token and code twice at once is accepted once and
// replayed once; a member whose callback throws is run again alone and the others succeed; right,
// wrong and replayed codes in one group each get their own answer and count; a group's lost COMMIT
// is decided for all its members alike, and one whose connection drops before COMMIT runs again as a
// whole; values (arrays too) travel only as parameters.
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import { BankError } from "../host/bank/errors.js";
import { openStore } from "../host/bank/open-store.js";
import { PgStore } from "../host/bank/postgres/store.js";
import type { StoreTx } from "../host/bank/store.js";
import { openAuditKeys } from "../host/bank/rooms/audit.js";
import { signed } from "./audit-helpers.js";
import { codeAt, seedTokens, type TokenProfile } from "./bank-helpers.js";
import { commitLosingRelay } from "./pg-relay.js";
import { POSTGRES_SKIP, usePostgres } from "./pg-helpers.js";

const postgres = usePostgres();
const MASTER = MasterKey.fromHex("5e".repeat(32));
const SERVICE_ID = "10212083";
/** The bank's clock in these tests: a step's first second. */
const NOW = 1_900_000_020;
const STEP = Math.floor(NOW / 60);
const opened: { close(): Promise<void> }[] = [];

afterEach(async () => {
  for (const store of opened.splice(0).reverse()) await store.close().catch(() => undefined);
});

const userIdOf = (n: number) => `2083L${String(n).padStart(7, "0")}A001`;

interface Tokens {
  store: PgStore;
  bank: Bank;
  url: string;
  ids: string[];
  profiles: Map<string, TokenProfile>;
}

/** A bank on a fresh database with `count` tokens (last accepted step: the one before NOW's), their seeds known. */
async function bankWithTokens(count: number): Promise<Tokens> {
  const url = postgres.freshUrl();
  const store = (await openStore(url, { create: true })) as PgStore;
  opened.push(store);
  const bank = await Bank.open(store, MASTER, { now: () => NOW });
  await bank.updateSettings({ serviceId: SERVICE_ID });
  const profiles = await seedTokens(store, MASTER, { count, serviceId: SERVICE_ID, now: NOW, userIdOf });
  const ids = [...profiles.keys()];
  return { store, bank, url, ids, profiles };
}

/** The distinct transactions that last wrote these tokens' rows (their xmin): how many database transactions did the work. */
async function writers(store: PgStore, ids: string[]): Promise<number> {
  const { rows } = await store.pool.query("SELECT count(DISTINCT xmin::text)::int AS n FROM tokens WHERE user_id = ANY($1)", [ids]);
  return rows[0].n;
}

/** Every event of each token, kinds in order (the queue sealed first). */
async function kinds(bank: Bank, ids: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const id of ids) out.set(id, (await bank.store.eventsOf(id, 100)).map((e) => e.kind).reverse());
  return out;
}

const outcome = (promise: Promise<unknown>) =>
  promise.then(
    () => "accepted",
    (error: unknown) => (error instanceof BankError ? error.code : `thrown: ${(error as Error).message}`),
  );

if (POSTGRES_SKIP !== null) it.skip(`PostgreSQL group tests skipped: ${POSTGRES_SKIP}`, () => undefined);

describe.skipIf(POSTGRES_SKIP !== null)("verifications grouped into one PostgreSQL transaction", () => {
  it("32 concurrent verifications of distinct tokens: fewer database transactions than 32, each answered as alone, one login event each", async () => {
    const { store, bank, ids, profiles } = await bankWithTokens(32);
    const before = store.grouping;
    const results = await Promise.all(ids.map((id) => bank.verify(id, codeAt(profiles.get(id)!, NOW))));
    for (const result of results) expect(result).toMatchObject({ ok: true, offset: 0, driftSteps: 0, step: STEP });
    const after = store.grouping;
    // Counted by the server: the transactions that wrote the 32 token rows.
    const transactions = await writers(store, ids);
    expect(transactions).toBeLessThan(32);
    expect(after.groups + after.alone - before.groups - before.alone).toBe(transactions);
    expect(after.grouped - before.grouped).toBeGreaterThan(1);
    expect(after.fallbacks).toBe(before.fallbacks);
    for (const id of ids)
      expect(await store.getToken(id)).toMatchObject({ last_step: STEP, consecutive_failures: 0, last_success_at: NOW });
    for (const [, events] of await kinds(bank, ids)) expect(events).toEqual(["login"]);
    expect((await bank.verifyAudit()).ok).toBe(true);
    // The same codes again: every one replayed, each counted on its own token.
    const again = await Promise.all(ids.map((id) => outcome(bank.verify(id, codeAt(profiles.get(id)!, NOW)))));
    expect(again).toEqual(ids.map(() => "replayed"));
    for (const id of ids) expect((await store.getToken(id))!.consecutive_failures).toBe(1);
  }, 120_000);

  it("the same token and the same code twice at once (among others): exactly one accepted, one replayed", async () => {
    const { store, bank, ids, profiles } = await bankWithTokens(6);
    const [twice, ...others] = ids;
    const code = codeAt(profiles.get(twice)!, NOW);
    const answers = await Promise.all([
      outcome(bank.verify(twice, code)),
      ...others.map((id) => outcome(bank.verify(id, codeAt(profiles.get(id)!, NOW)))),
      outcome(bank.verify(twice, code)),
    ]);
    expect([answers[0], answers[answers.length - 1]].sort()).toEqual(["accepted", "replayed"]);
    expect(answers.slice(1, -1)).toEqual(others.map(() => "accepted"));
    expect(await store.getToken(twice)).toMatchObject({ last_step: STEP, consecutive_failures: 1 });
    expect((await kinds(bank, [twice])).get(twice)).toEqual(["login", "replayed"]);
    // The second of the key waited for the next group: never two members of one key in a group.
    expect(store.grouping.groups).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it("a member whose callback throws (a damaged seed) rolls its group back; each member runs again alone: the others succeed, once each", async () => {
    const { store, bank, ids, profiles } = await bankWithTokens(8);
    const damaged = ids[3];
    await store.pool.query("UPDATE tokens SET seed = $1 WHERE user_id = $2", [Buffer.from(new Uint8Array(40).fill(1)), damaged]);
    const before = store.grouping;
    const answers = await Promise.all(ids.map((id) => outcome(bank.verify(id, codeAt(profiles.get(id)!, NOW)))));
    expect(answers[3]).toBe("master-key");
    expect(answers.filter((_, i) => i !== 3)).toEqual(ids.slice(1).map(() => "accepted"));
    expect(store.grouping.fallbacks - before.fallbacks).toBe(1);
    for (const id of ids.filter((id) => id !== damaged)) {
      expect((await store.getToken(id))!.last_step).toBe(STEP);
      // The rolled-back group's events are gone: one login event each, from the run alone.
      expect((await kinds(bank, [id])).get(id)).toEqual(["login"]);
    }
    expect(await store.getToken(damaged)).toMatchObject({ last_step: STEP - 1, consecutive_failures: 0 });
    // A callback that throws anything, at the store: the others' values stand, the thrower gets its own error.
    const values = await Promise.all(
      ids.slice(4, 8).map((id, i) =>
        store
          .transaction(
            async (tx) => {
              const token = (await tx.verifiableToken(id))!;
              if (i === 2) throw new Error("the callback's own failure");
              await tx.recordTokenSuccess(id, 0, token.last_step + 1, NOW + 1);
              return token.last_step + 1;
            },
            { group: id },
          )
          .catch((error: Error) => error.message),
      ),
    );
    expect(values).toEqual([STEP + 1, STEP + 1, "the callback's own failure", STEP + 1]);
    // A member that does what a group does not run (another token's row) is run alone too, and gets what it asked.
    const [a, b] = ids;
    const crossing = await Promise.all([
      store.transaction(async (tx) => (await tx.verifiableToken(b))!.user_id, { group: a }),
      store.transaction(async (tx) => (await tx.verifiableToken(a))!.user_id, { group: b }),
    ]);
    expect(crossing).toEqual([b, a]);
  }, 60_000);

  it("right, wrong and replayed codes in one group: each its own answer, the failures counted on their own tokens", async () => {
    const { store, bank, ids, profiles } = await bankWithTokens(9);
    const plan = ids.map((id, i) => {
      const profile = profiles.get(id)!;
      const right = codeAt(profile, NOW);
      if (i % 3 === 0) return { id, code: right, expect: "accepted" };
      // The last accepted step's code: inside the window, but not after the last step.
      if (i % 3 === 1) return { id, code: codeAt(profile, NOW - 60), expect: "replayed" };
      return { id, code: right === "000000" ? "000001" : "000000", expect: "wrong-code" };
    });
    const before = store.grouping;
    const answers = await Promise.all(plan.map((p) => outcome(bank.verify(p.id, p.code))));
    expect(answers).toEqual(plan.map((p) => p.expect));
    // One transaction did them all.
    expect(await writers(store, ids)).toBe(1);
    expect(store.grouping.groups - before.groups).toBe(1);
    expect(store.grouping.grouped - before.grouped).toBe(9);
    const events = await kinds(bank, ids);
    for (const p of plan) {
      const token = (await store.getToken(p.id))!;
      if (p.expect === "accepted") expect(token).toMatchObject({ last_step: STEP, consecutive_failures: 0, next_check_at: 0 });
      else expect(token).toMatchObject({ last_step: STEP - 1, consecutive_failures: 1, next_check_at: NOW + 1 });
      expect(events.get(p.id)).toEqual([p.expect === "accepted" ? "login" : p.expect]);
    }
    // Throttled now: the failed ones answer 429 (an event, no count), the right ones replayed.
    const second = await Promise.all(plan.map((p) => outcome(bank.verify(p.id, p.code))));
    expect(second).toEqual(plan.map((p) => (p.expect === "accepted" ? "replayed" : "throttled")));
    for (const p of plan) expect((await store.getToken(p.id))!.consecutive_failures).toBe(1);
  }, 60_000);

  it("a group's lost COMMIT is decided for all its members alike: committed -> every result stands; not committed -> every member runs again, applied once", async () => {
    const { store: setup, url, ids } = await bankWithTokens(6);
    const keys = await openAuditKeys(setup, MASTER);
    const relay = await commitLosingRelay(postgres.server.port, opened);
    // No audit sealer on this store: the one COMMIT the relay loses is the group's.
    const store = await PgStore.open(url.replace(`:${postgres.server.port}/`, `:${relay.port}/`));
    opened.push(store);
    const burst = async () => {
      const attempts = new Map<string, number>();
      const steps = await Promise.all(
        ids.map((id) =>
          store.transaction(
            async (tx: StoreTx) => {
              attempts.set(id, (attempts.get(id) ?? 0) + 1);
              const token = (await tx.verifiableToken(id))!;
              await tx.recordTokenSuccess(id, 0, token.last_step + 1, NOW);
              await tx.appendEvent(
                signed(keys, { at: NOW, kind: "login", service_id: SERVICE_ID, user_id: id, actor: "test", detail: null }),
              );
              return token.last_step + 1;
            },
            { group: id },
          ),
        ),
      );
      return { steps, attempts: [...attempts.values()] };
    };
    const before = store.grouping;
    relay.arm("answer");
    const committed = await burst();
    expect(committed.steps).toEqual(ids.map(() => STEP));
    expect(committed.attempts).toEqual(ids.map(() => 1));
    relay.arm("request");
    const rerun = await burst();
    expect(rerun.steps).toEqual(ids.map(() => STEP + 1));
    expect(rerun.attempts).toEqual(ids.map(() => 2));
    // Both bursts ran as groups (no member ran alone), each applied once.
    expect(store.grouping.groups - before.groups).toBe(2);
    expect(store.grouping.alone).toBe(before.alone);
    const { rows } = await setup.pool.query(
      "SELECT user_id, count(*)::int AS n FROM (SELECT user_id FROM audit_queue UNION ALL SELECT user_id FROM events) e GROUP BY user_id",
    );
    const perToken = new Map(rows.map((r) => [r.user_id as string, r.n as number]));
    for (const id of ids) {
      expect((await setup.getToken(id))!.last_step).toBe(STEP + 1);
      expect(perToken.get(id)).toBe(2);
    }
  }, 120_000);

  it("a group whose connection drops before COMMIT runs again as a whole, as a single transaction would: each failure counted once", async () => {
    const { url, ids } = await bankWithTokens(6);
    // No audit sealer on this store: the one connection idle in a transaction is the group's.
    const store = await PgStore.open(url);
    opened.push(store);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    opened.push({ close: () => admin.end() });
    const attempts = new Map<string, number>();
    let dropped = false;
    const before = store.grouping;
    const results = await Promise.all(
      ids.map((id) =>
        store.transaction(
          async (tx) => {
            attempts.set(id, (attempts.get(id) ?? 0) + 1);
            await tx.verifiableToken(id);
            if (!dropped) {
              dropped = true;
              // The group holds its rows (idle in transaction on the server, its last statement the group's read or a member's failure count; a sealer's touch no tokens) while its members run: its connection goes (not a sealer's, also idle in transaction between its round trips).
              const { rows } = await admin.query<{ pid: number }>(
                "SELECT pid FROM pg_stat_activity WHERE state = 'idle in transaction' AND datname = current_database() AND query LIKE '%tokens%'",
              );
              expect(rows).toHaveLength(1);
              await admin.query("SELECT pg_terminate_backend($1)", [rows[0].pid]);
              // pg_terminate_backend only signals: a loaded server's process could still read the group's
              // COMMIT and commit before it exits (a lost COMMIT, decided "committed"). Gone before we go on.
              for (;;) {
                const left = await admin.query("SELECT 1 FROM pg_stat_activity WHERE pid = ANY($1::int[])", [rows.map((r) => r.pid)]);
                if (left.rowCount === 0) break;
                await new Promise((resolve) => setTimeout(resolve, 10));
              }
            }
            return tx.recordTokenFailure(id, 10, NOW + 1);
          },
          { group: id },
        ),
      ),
    );
    expect(results).toEqual(ids.map(() => ({ failures: 1, locked: false })));
    expect([...attempts.values()]).toEqual(ids.map(() => 2));
    expect(store.grouping.groups - before.groups).toBe(1);
    expect(store.grouping.fallbacks).toBe(before.fallbacks);
    for (const id of ids) expect(await store.getToken(id)).toMatchObject({ consecutive_failures: 1, next_check_at: NOW + 1 });
  }, 60_000);

  it("values, arrays included, travel only as parameters of named statements: details with quotes, braces, commas, backslashes, NULL and Unicode come back as written", async () => {
    const { store: setup, url, ids } = await bankWithTokens(6);
    const keys = await openAuditKeys(setup, MASTER);
    // No audit sealer on this store: every statement recorded is the group's.
    const store = await PgStore.open(url);
    opened.push(store);
    const details = ['say "hi"', "{a,b}", "back\\slash", "NULL", null, "利用開始パスワード 🔑 $1 '; DROP TABLE tokens; --"];
    const sent: { text: string; name?: string; values: unknown[] }[] = [];
    const query = pg.Client.prototype.query;
    pg.Client.prototype.query = function (this: pg.Client, config: unknown, values?: unknown, callback?: unknown) {
      const c = config as string | { text: string; name?: string; values?: unknown[] };
      if (typeof c === "string") sent.push({ text: c, values: Array.isArray(values) ? values : [] });
      else sent.push({ text: c.text, name: c.name, values: c.values ?? [] });
      return (query as (...args: unknown[]) => unknown).call(this, config, values, callback);
    } as typeof query;
    try {
      await Promise.all(
        ids.map((id, i) =>
          store.transaction(
            async (tx) => {
              const token = (await tx.verifiableToken(id))!;
              await tx.recordTokenSuccess(id, 0, token.last_step + 1, NOW);
              await tx.appendEvent(
                signed(keys, { at: NOW, kind: "login", service_id: null, user_id: id, actor: "test", detail: details[i] }),
              );
            },
            { group: id },
          ),
        ),
      );
    } finally {
      pg.Client.prototype.query = query;
    }
    const texts = sent.map((q) => q.text);
    expect(texts).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^SELECT .* FROM tokens WHERE user_id = ANY\(\$1::text\[\]\) ORDER BY user_id FOR UPDATE$/),
        expect.stringMatching(
          /^WITH w1 AS \(UPDATE tokens t SET .* FROM unnest\(\$1::text\[\].*INSERT INTO audit_queue .* FROM unnest\(\$5::bigint\[\]/s,
        ),
      ]),
    );
    for (const q of sent) {
      if (q.name === undefined)
        expect({ text: q.text, values: q.values }).toEqual({ text: expect.stringMatching(/^(BEGIN|COMMIT|ROLLBACK)$/), values: [] });
      for (const id of ids) expect(q.text).not.toContain(id);
      expect(q.text).not.toContain("DROP TABLE tokens; --'");
    }
    const { rows } = await store.pool.query(
      "SELECT user_id, detail FROM (SELECT user_id, detail FROM audit_queue UNION ALL SELECT user_id, detail FROM events) e WHERE user_id = ANY($1) ORDER BY user_id",
      [ids],
    );
    expect(rows).toEqual(ids.map((id, i) => ({ user_id: id, detail: details[i] })));
    expect((await store.pool.query("SELECT to_regclass('tokens') AS t")).rows[0].t).toBe("tokens");
  }, 60_000);
});
