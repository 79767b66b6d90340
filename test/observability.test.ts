// What a bank's operators watch (issue 22, items 2 and 3): `bank serve --metrics-port 0 --log-format
// json` under a load of logins (right, wrong, replayed, throttled, through /verify and the gateway's
// /authenticate). The metrics scrape passes Debian's `promtool check metrics` and counts what was
// done; the log has one JSON line per request (request id, route, status, time, key id) and none of
// the secrets the run used: the API key, every code sent, the master key, the tokens' seeds. On
// PostgreSQL (test/pg-helpers.ts: a server of this file's own), `bank serve --db-pool 2` under a burst
// of 30 verifications at once: the histogram of the store's wait for a connection counts every
// transaction's, and the burst's waited.
import { type ChildProcess, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import { openStore } from "../host/bank/open-store.js";
import type { BankStore } from "../host/bank/store.js";
import { codeAt, type TokenProfile } from "./bank-helpers.js";
import { commandWorks, requireTool } from "./helpers.js";
import { confirmedToken, now, type Served, serve, stopAll, wrongCode } from "./operator-helpers.js";
import { POSTGRES_SKIP, usePostgres } from "./pg-helpers.js";

const KEY_HEX = "3c".repeat(32);
const postgres = usePostgres();
const havePromtool = commandWorks("promtool", ["--version"]);
let dir: string;
let keyFile: string;
let store: BankStore;
let bank: Bank;
let apiKey = "";
let keyId = "";
let served: Served;
const children: ChildProcess[] = [];
const tokens: { userId: string; token: TokenProfile }[] = [];
const codesSent: string[] = [];

async function post(path: string, body: unknown, key = apiKey): Promise<Response> {
  const json = JSON.stringify(body);
  for (const value of Object.values(body as Record<string, string>)) codesSent.push(value);
  return fetch(`${served.base}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: json,
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "otp-observe-"));
  keyFile = join(dir, "master.key");
  writeFileSync(keyFile, KEY_HEX, { mode: 0o600 });
  const dbPath = join(dir, "bank.sqlite");
  store = await openStore(dbPath, { create: true });
  bank = await Bank.open(store, MasterKey.fromHex(KEY_HEX), { outboxDir: join(dir, "outbox") });
  await bank.updateSettings({ serviceId: "10212083" });
  const created = await bank.createApiKey("login", "observed");
  apiKey = created.key;
  keyId = created.keyId;
  for (let i = 0; i < 4; i++) tokens.push(await confirmedToken(bank, `observed${i}`, BigInt(i + 1)));
  served = await serve(
    ["--db", dbPath, "--master-key-file", keyFile, "--metrics-port", "0", "--log-format", "json", "--throttle-base-seconds", "30"],
    children,
  );

  // The load: per token a right code, then a wrong one (tokens 0 and 1) or the same again (2 and 3,
  // replayed), then the next code within the 30-second delay that failure set (throttled). Tokens 0
  // and 2 through /verify, 1 and 3 through the gateway's /authenticate.
  for (const [i, { userId, token }] of tokens.entries()) {
    const route = i % 2 === 0 ? "verify" : "authenticate";
    const code = codeAt(token, now());
    await post(`/v1/tokens/${userId}/${route}`, { code });
    await post(`/v1/tokens/${userId}/${route}`, { code: i < 2 ? wrongCode(token) : code });
    await post(`/v1/tokens/${userId}/${route}`, { code: codeAt(token, now() + token.period) });
  }
  // Noise a log must not keep either: a wrong key, a malformed body with a password-like field.
  await post(`/v1/tokens/${tokens[0].userId}/verify`, { code: "123456" }, `${apiKey.slice(0, -4)}AAAA`);
  await post("/v1/issues", { mail: "a@example.jp", mailConfirm: "a@example.jp", password: "Secret99", passwordConfirm: "Secret98" });
}, 240_000);

afterAll(async () => {
  await stopAll(children);
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const escaped = (text: string) => text.replace(/[{}()[\]|.*+?^$\\/]/g, "\\$&");

/** A histogram without labels in a scrape: its buckets (cumulative, by upper bound), count and sum. */
function histogram(text: string, name: string): { buckets: [string, number][]; count: number; sum: number } {
  const buckets = [...text.matchAll(new RegExp(`^${escaped(name)}_bucket\\{le="([^"]+)"\\} (\\S+)$`, "gm"))].map(
    ([, le, n]) => [le, Number(n)] as [string, number],
  );
  const scalar = (suffix: string) => Number(new RegExp(`^${escaped(name)}_${suffix} (\\S+)$`, "m").exec(text)?.[1]);
  return { buckets, count: scalar("count"), sum: scalar("sum") };
}

/** promtool check metrics on a scrape: no complaint. */
function promtoolPasses(text: string): void {
  const checked = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8", timeout: 60_000 });
  expect(`${checked.stdout}${checked.stderr}`).toBe("");
  expect(checked.status).toBe(0);
}

describe("Prometheus metrics (bank serve --metrics-port)", () => {
  it("listen on loopback, on their own port, without an API key; the API's port has no /metrics", async () => {
    const url = /^metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)$/m.exec(served.out())?.[1];
    expect(url).toBeDefined();
    expect(new URL(url!).port).not.toBe(new URL(served.base).port);
    expect((await fetch(url!)).status).toBe(200);
    expect((await fetch(`${served.base}/metrics`)).status).toBe(404);
  });

  it("count code checks by outcome, throttled and locked answers, latency per route, the store and the process", async () => {
    const url = /^metrics on (\S+)$/m.exec(served.out())![1];
    const text = await (await fetch(url)).text();
    const value = (line: string) => Number(new RegExp(`^${line.replace(/[{}()[\]|.*+?^$\\/]/g, "\\$&")} (\\S+)$`, "m").exec(text)?.[1]);
    for (const route of ["verify", "authenticate"]) {
      const label = `route="/v1/tokens/:userId/${route}"`;
      expect(value(`otp_bank_code_checks_total{${label},outcome="accepted"}`)).toBe(2);
      expect(value(`otp_bank_code_checks_total{${label},outcome="replayed"}`)).toBe(1);
      expect(value(`otp_bank_code_checks_total{${label},outcome="wrong-code"}`)).toBe(1);
      expect(value(`otp_bank_code_checks_total{${label},outcome="throttled"}`)).toBe(2);
      expect(value(`otp_bank_http_request_duration_seconds_count{method="POST",${label},status="${route === "verify" ? 200 : 204}"}`)).toBe(
        route === "verify" ? 4 : 2,
      );
    }
    expect(value("otp_bank_throttled_total")).toBe(4);
    expect(value("otp_bank_tokens_locked_total")).toBe(0);
    expect(value('otp_bank_tokens{state="active"}')).toBe(4);
    expect(value("otp_bank_store_transactions_waiting")).toBe(0);
    // Every transaction's turn on SQLite's one connection: at least the 12 code checks', each counted once in +Inf.
    const wait = histogram(text, "otp_bank_store_wait_seconds");
    expect(wait.buckets.map(([le]) => le)).toEqual([
      "0.0001",
      "0.00025",
      "0.0005",
      "0.001",
      "0.0025",
      "0.005",
      "0.01",
      "0.025",
      "0.05",
      "0.1",
      "0.25",
      "0.5",
      "1",
      "2.5",
      "5",
      "+Inf",
    ]);
    expect(wait.count).toBeGreaterThanOrEqual(12);
    expect(wait.buckets.at(-1)![1]).toBe(wait.count);
    for (let i = 1; i < wait.buckets.length; i++) expect(wait.buckets[i][1]).toBeGreaterThanOrEqual(wait.buckets[i - 1][1]);
    expect(wait.sum).toBeGreaterThanOrEqual(0);
    expect(value("otp_bank_audit_queue_depth")).toBe(0);
    expect(text).toMatch(
      /^otp_bank_http_request_duration_seconds_bucket\{le="0\.005",method="POST",route="\/v1\/issues",status="400"\} \d+$/m,
    );
    expect(text).toMatch(/^otp_bank_process_resident_memory_bytes \d+$/m);
    expect(text).toMatch(/^otp_bank_nodejs_eventloop_lag_seconds /m);
    // No User ID in any label: routes are patterns.
    for (const { userId } of tokens) expect(text).not.toContain(userId);
  });

  if (requireTool("prometheus", havePromtool, "promtool (Debian's prometheus package) checks the metrics' exposition format")) {
    it("pass promtool check metrics", async () => {
      const url = /^metrics on (\S+)$/m.exec(served.out())![1];
      const text = await (await fetch(url)).text();
      promtoolPasses(text);
      // promtool is not lenient: a broken exposition fails.
      const broken = spawnSync("promtool", ["check", "metrics"], { input: `${text}otp_bank_bad{x="1" 1\n`, encoding: "utf8" });
      expect(broken.status).not.toBe(0);
    }, 60_000);
  }
});

describe.runIf(POSTGRES_SKIP === null)("the store's wait on PostgreSQL (bank serve --db postgres://... --db-pool 2)", () => {
  const pgChildren: ChildProcess[] = [];
  let pgStore: BankStore;
  let pgServed: Served;
  let pgKey = "";
  const pgTokens: { userId: string; token: TokenProfile }[] = [];

  beforeAll(async () => {
    const url = postgres.freshUrl();
    pgStore = await openStore(url, { create: true });
    const pgBank = await Bank.open(pgStore, MasterKey.fromHex(KEY_HEX));
    await pgBank.updateSettings({ serviceId: "10212083" });
    pgKey = (await pgBank.createApiKey("login", "observed on PostgreSQL")).key;
    for (let i = 0; i < 3; i++) pgTokens.push(await confirmedToken(pgBank, `pg-observed${i}`, BigInt(i + 11)));
    pgServed = await serve(["--db", url, "--master-key-file", keyFile, "--metrics-port", "0", "--db-pool", "2"], pgChildren);
  }, 240_000);

  afterAll(async () => {
    await stopAll(pgChildren);
    await pgStore?.close();
  });

  it("a histogram of every transaction's wait for a pool connection: 30 verifications at once on 2 connections waited", async () => {
    const url = /^metrics on (\S+)$/m.exec(pgServed.out())![1];
    const before = histogram(await (await fetch(url)).text(), "otp_bank_store_wait_seconds");
    expect(before.buckets).toHaveLength(16);
    // The burst: 10 verifications of each token's current code at once (one accepted, the rest replayed or throttled).
    const statuses = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const { userId, token } = pgTokens[i % 3];
        const response = await fetch(`${pgServed.base}/v1/tokens/${userId}/verify`, {
          method: "POST",
          headers: { authorization: `Bearer ${pgKey}`, "content-type": "application/json" },
          body: JSON.stringify({ code: codeAt(token, now()) }),
        });
        await response.arrayBuffer();
        return response.status;
      }),
    );
    expect(statuses.every((status) => status === 200 || status === 429)).toBe(true);
    const text = await (await fetch(url)).text();
    const after = histogram(text, "otp_bank_store_wait_seconds");
    // Every verification ran at least one transaction, each waiting for one of the 2 connections.
    expect(after.count - before.count).toBeGreaterThanOrEqual(30);
    expect(after.buckets.at(-1)![1]).toBe(after.count);
    for (let i = 1; i < after.buckets.length; i++) expect(after.buckets[i][1]).toBeGreaterThanOrEqual(after.buckets[i - 1][1]);
    expect(after.sum).toBeGreaterThan(before.sum);
    // 28 of them queued behind whole transactions (two round trips to the server each): those waits are
    // longer than the first bucket's 100 microseconds, whatever the machine's speed.
    expect(after.buckets[0][1] - before.buckets[0][1]).toBeLessThan(after.count - before.count);
    expect(text).toMatch(/^otp_bank_db_pool_connections\{state="idle"\} \d+$/m);
    if (havePromtool) promtoolPasses(text);
  }, 120_000);
});

describe("JSON logs (bank serve --log-format json)", () => {
  const lines = () =>
    served
      .err()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  it("one line per request: request id, route, status, time, key id", () => {
    // The load's POSTs (the metrics test asked the API's port for /metrics too: a GET, 404).
    const requests = lines().filter((line) => line.msg === "request" && line.method === "POST");
    expect(requests).toHaveLength(4 * 3 + 2);
    const ids = new Set(requests.map((line) => line.reqId));
    expect(ids.size).toBe(requests.length);
    for (const line of requests) {
      expect(line).toMatchObject({ level: 30, method: "POST", status: expect.any(Number), responseTimeMs: expect.any(Number) });
      expect(line.reqId).toMatch(/^[0-9a-f-]{36}$/);
      expect(typeof line.time).toBe("string");
    }
    const verify = requests.filter((line) => line.route === "/v1/tokens/:userId/verify");
    expect(verify.map((line) => line.status)).toEqual([200, 200, 429, 200, 200, 429, 401]);
    expect(verify.slice(0, 6).every((line) => line.keyId === keyId)).toBe(true);
    // The wrong key's request: no key id (it was not authenticated).
    expect(verify[6].keyId).toBeNull();
    const authenticate = requests.filter((line) => line.route === "/v1/tokens/:userId/authenticate");
    expect(authenticate.map((line) => line.status)).toEqual([204, 401, 429, 204, 401, 429]);
  });

  it("holds no secret of the run: the API key or its secret, any code sent, a password, the master key, a seed", () => {
    const log = served.err();
    expect(log.length).toBeGreaterThan(1000);
    const secrets = [
      apiKey,
      apiKey.split("_")[2],
      KEY_HEX,
      "Secret99",
      "Secret98",
      ...new Set(codesSent.filter((value) => /^\d{6,8}$/.test(value))),
      ...tokens.flatMap(({ token }) => [
        Buffer.from(token.seed).toString("hex"),
        Buffer.from(token.seed).toString("base64"),
        Buffer.from(token.seed).toString("base64url"),
      ]),
    ];
    expect(secrets.length).toBeGreaterThan(15);
    for (const secret of secrets) expect(log.includes(secret), `the log holds ${secret}`).toBe(false);
  });
});
