// What a bank's operators watch (issue 22, items 2 and 3): `bank serve --metrics-port 0 --log-format
// json` under a load of logins (right, wrong, replayed, throttled, through /verify and the gateway's
// /authenticate). The metrics scrape passes Debian's `promtool check metrics` and counts what was
// done; the log has one JSON line per request (request id, route, status, time, key id) and none of
// the secrets the run used: the API key, every code sent, the master key, the tokens' seeds.
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

const KEY_HEX = "3c".repeat(32);
let dir: string;
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
  const keyFile = join(dir, "master.key");
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
    expect(value("otp_bank_audit_queue_depth")).toBe(0);
    expect(text).toMatch(
      /^otp_bank_http_request_duration_seconds_bucket\{le="0\.005",method="POST",route="\/v1\/issues",status="400"\} \d+$/m,
    );
    expect(text).toMatch(/^otp_bank_process_resident_memory_bytes \d+$/m);
    expect(text).toMatch(/^otp_bank_nodejs_eventloop_lag_seconds /m);
    // No User ID in any label: routes are patterns.
    for (const { userId } of tokens) expect(text).not.toContain(userId);
  });

  const havePromtool = commandWorks("promtool", ["--version"]);
  if (requireTool("prometheus", havePromtool, "promtool (Debian's prometheus package) checks the metrics' exposition format")) {
    it("pass promtool check metrics", async () => {
      const url = /^metrics on (\S+)$/m.exec(served.out())![1];
      const text = await (await fetch(url)).text();
      const checked = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8", timeout: 60_000 });
      expect(`${checked.stdout}${checked.stderr}`).toBe("");
      expect(checked.status).toBe(0);
      // promtool is not lenient: a broken exposition fails.
      const broken = spawnSync("promtool", ["check", "metrics"], { input: `${text}otp_bank_bad{x="1" 1\n`, encoding: "utf8" });
      expect(broken.status).not.toBe(0);
    }, 60_000);
  }
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
