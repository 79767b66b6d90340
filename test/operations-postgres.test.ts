// Readiness and metrics on PostgreSQL (issue 22, items 2 and 5): /v1/ready reads schema_migrations
// (503 when the database's schema is not this build's), and the metrics read the pool (connections
// in use and idle, transactions waiting) and the audit queue (depth, the oldest row's age), on a
// PostgreSQL this test starts (test/pg-helpers.ts; skipped, or failed under CI=true, without it).
import { spawnSync } from "node:child_process";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import { createMetrics } from "../host/bank/metrics.js";
import { openStore } from "../host/bank/open-store.js";
import type { PgStore } from "../host/bank/postgres/store.js";
import { createService } from "../host/bank/service.js";
import { commandWorks } from "./helpers.js";
import { POSTGRES_SKIP, usePostgres } from "./pg-helpers.js";

const postgres = usePostgres();

describe.runIf(POSTGRES_SKIP === null)("on PostgreSQL", () => {
  let store: PgStore;
  let bank: Bank;
  let app: FastifyInstance;
  let metrics: ReturnType<typeof createMetrics>;

  beforeAll(async () => {
    store = (await openStore(postgres.freshUrl(), { create: true })) as PgStore;
    bank = await Bank.open(store, MasterKey.fromBytes(new Uint8Array(32).fill(3)));
    await bank.updateSettings({ serviceId: "10212083" });
    metrics = createMetrics(bank);
    app = await createService({ bank, instrument: metrics.instrument });
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await store?.close();
  });

  it("/v1/ready: 200 while the schema is this build's; 503 once the database holds a newer one", async () => {
    const ready = await app.inject({ method: "GET", url: "/v1/ready" });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: "ready", store: "postgres", schemaVersion: store.schemaVersion });
    await store.pool.query(`INSERT INTO schema_migrations (version) VALUES (${store.schemaVersion + 1})`);
    try {
      const newer = await app.inject({ method: "GET", url: "/v1/ready" });
      expect(newer.statusCode).toBe(503);
      expect(newer.json().message).toMatch(new RegExp(`schema is version ${store.schemaVersion + 1}, this build's ${store.schemaVersion}`));
    } finally {
      await store.pool.query(`DELETE FROM schema_migrations WHERE version = ${store.schemaVersion + 1}`);
    }
    expect((await app.inject({ method: "GET", url: "/v1/ready" })).statusCode).toBe(200);
  }, 60_000);

  it("the metrics read the pool and the audit queue (a row left queued shows as depth and lag)", async () => {
    const value = (text: string, line: string) =>
      Number(new RegExp(`^${line.replace(/[{}()[\]|.*+?^$\\/"]/g, "\\$&")} (\\S+)$`, "m").exec(text)?.[1]);
    // What the bank queued so far (its settings change) chained first.
    await store.sealAudit();
    const before = await metrics.registry.metrics();
    // Nothing else runs: at most the scrape's own audit-queue query holds a connection.
    const inUse = value(before, 'otp_bank_db_pool_connections{state="in-use"}');
    expect(inUse).toBeLessThanOrEqual(1);
    expect(inUse + value(before, 'otp_bank_db_pool_connections{state="idle"}')).toBeGreaterThanOrEqual(1);
    expect(value(before, "otp_bank_store_transactions_waiting")).toBe(0);
    expect(value(before, "otp_bank_audit_queue_depth")).toBe(0);
    expect(value(before, "otp_bank_audit_sealer_lag_seconds")).toBe(0);
    // A queued row the sealer has not chained (as a stopped instance leaves them): 100 s old.
    const at = Math.floor(Date.now() / 1000) - 100;
    await store.pool.query(
      `INSERT INTO audit_queue (at, kind, service_id, user_id, actor, detail, nonce, writer_mac) VALUES (${at}, 'test', NULL, NULL, 'test', NULL, '\\x00', '\\x00')`,
    );
    try {
      const after = await metrics.registry.metrics();
      expect(value(after, "otp_bank_audit_queue_depth")).toBe(1);
      expect(value(after, "otp_bank_audit_sealer_lag_seconds")).toBeGreaterThanOrEqual(100);
      if (commandWorks("promtool", ["--version"])) {
        const checked = spawnSync("promtool", ["check", "metrics"], { input: after, encoding: "utf8" });
        expect(`${checked.stdout}${checked.stderr}`).toBe("");
      }
    } finally {
      await store.pool.query("DELETE FROM audit_queue WHERE kind = 'test'");
    }
  }, 60_000);
});
