// RADIUS (issue 22, item 1): the shipped FreeRADIUS configuration (contrib/freeradius/) in front of a
// `bank serve` this test starts. FreeRADIUS runs in the foreground (`freeradius -X`) on a private
// configuration folder (a minimal radiusd.conf written here, the shipped module and virtual server
// copied unchanged but for the port) and a free port; radtest and radclient send PAP requests.
// Shows: the right code Accept, the same code again Reject, a wrong code Reject, a throttled token
// Reject, a locked token Reject, an unknown User ID Reject, a malformed request Reject without a call,
// a drifted token resynchronised through an Access-Challenge, and the service down Reject.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import { openStore } from "../host/bank/open-store.js";
import type { BankStore } from "../host/bank/store.js";
import { codeAt, type TokenProfile } from "./bank-helpers.js";
import { commandWorks, requireTool } from "./helpers.js";
import { confirmedToken, now, serve as startServe, stopAll, wrongCode } from "./operator-helpers.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CONTRIB = join(ROOT, "contrib/freeradius");
const SECRET = "radius-test-secret";
const KEY_HEX = "5a".repeat(32);

const haveFreeradius = commandWorks("freeradius", ["-v"]) && existsSync("/usr/lib/freeradius/rlm_rest.so");
const haveUtils = commandWorks("sh", ["-c", "command -v radclient && command -v radtest"]);

/** A free TCP port (FreeRADIUS listens on UDP; a port free for TCP on loopback is free enough for a private test). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** The private configuration: a minimal radiusd.conf, rlm_always (ok, reject, handled), the shipped module and site. */
function writeRadiusConfig(dir: string, port: number): void {
  mkdirSync(join(dir, "mods-enabled"));
  mkdirSync(join(dir, "sites-enabled"));
  writeFileSync(
    join(dir, "radiusd.conf"),
    `prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = ${dir}
sbindir = /usr/sbin
logdir = ${dir}
raddbdir = ${dir}
confdir = ${dir}
run_dir = ${dir}
db_dir = ${dir}
libdir = /usr/lib/freeradius
pidfile = ${dir}/radiusd.pid
name = radiusd
max_request_time = 30
cleanup_delay = 0
max_requests = 1024
hostname_lookups = no
log {
	destination = stderr
	auth = yes
}
security {
	allow_core_dumps = no
	max_attributes = 200
	reject_delay = 0
	status_server = no
}
thread pool {
	start_servers = 2
	max_servers = 4
	min_spare_servers = 1
	max_spare_servers = 4
	max_requests_per_server = 0
}
client localhost {
	ipaddr = 127.0.0.1
	secret = ${SECRET}
}
modules {
	$INCLUDE mods-enabled/
}
$INCLUDE sites-enabled/
`,
  );
  copyFileSync("/etc/freeradius/3.0/mods-available/always", join(dir, "mods-enabled/always"));
  copyFileSync(join(CONTRIB, "mods-available/otp_bank"), join(dir, "mods-enabled/otp_bank"));
  const site = readFileSync(join(CONTRIB, "sites-available/otp-token"), "utf8");
  expect(site).toContain("port = 1812");
  writeFileSync(
    join(dir, "sites-enabled/otp-token"),
    site.replace("ipaddr = *", "ipaddr = 127.0.0.1").replace("port = 1812", `port = ${port}`),
  );
}

interface RadiusReply {
  code: "Access-Accept" | "Access-Reject" | "Access-Challenge" | "none";
  replyMessage: string;
  state?: string;
  output: string;
}

/** One Access-Request through radclient (attributes as radclient reads them from standard input). */
function radclient(port: number, attributes: Record<string, string>): Promise<RadiusReply> {
  const input = `${Object.entries(attributes)
    .map(([name, value]) => `${name} = ${value.startsWith("0x") ? value : JSON.stringify(value)}`)
    .join(", ")}, Message-Authenticator = 0x00\n`;
  return new Promise((resolve, reject) => {
    const child = spawn("radclient", ["-x", "-t", "20", "-r", "1", `127.0.0.1:${port}`, "auth", SECRET], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("error", reject);
    child.once("exit", () => resolve(parseReply(output)));
    child.stdin.end(input);
  });
}

function parseReply(output: string): RadiusReply {
  const code = /Received (Access-Accept|Access-Reject|Access-Challenge)/.exec(output)?.[1] as RadiusReply["code"] | undefined;
  const messages = [...output.matchAll(/Reply-Message = "((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]);
  const state = /\bState = (0x[0-9a-f]+)/.exec(output)?.[1];
  return { code: code ?? "none", replyMessage: messages.join(" "), state, output };
}

/** radtest USER CODE 127.0.0.1:PORT 0 SECRET: the administrator's first try. */
function radtest(port: number, user: string, code: string): RadiusReply {
  const result = spawnSync("radtest", ["-x", user, code, `127.0.0.1:${port}`, "0", SECRET], { encoding: "utf8", timeout: 60_000 });
  return parseReply(`${result.stdout}${result.stderr}`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("RADIUS: FreeRADIUS (contrib/freeradius/) in front of bank serve", () => {
  if (!requireTool("freeradius freeradius-rest", haveFreeradius, "FreeRADIUS with rlm_rest runs the shipped RADIUS configuration")) return;
  if (!requireTool("freeradius-utils", haveUtils, "radclient and radtest send the RADIUS requests")) return;

  let dir: string;
  let store: BankStore;
  let bank: Bank;
  let radiusPort = 0;
  let radiusLog = "";
  const children: ChildProcess[] = [];
  let serve: ChildProcess | undefined;
  let radius: ChildProcess | undefined;
  const tokens: Record<string, { userId: string; token: TokenProfile }> = {};

  const stopChildren = () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  };

  beforeAll(async () => {
    process.on("exit", stopChildren);
    dir = mkdtempSync(join(tmpdir(), "otp-radius-"));
    const keyFile = join(dir, "master.key");
    writeFileSync(keyFile, KEY_HEX, { mode: 0o600 });
    const dbPath = join(dir, "bank.sqlite");
    store = await openStore(dbPath, { create: true });
    // The test's own Bank on the same file locks and throttles tokens as other instances would (no delay: the lock after 10).
    bank = await Bank.open(store, MasterKey.fromHex(KEY_HEX), { outboxDir: join(dir, "outbox"), throttleBaseSeconds: 0 });
    await bank.updateSettings({ serviceId: "10212083" });
    const apiKey = (await bank.createApiKey("verify", "radius")).key;
    let serial = 1n;
    for (const name of ["accept", "wrong", "throttled", "locked", "drifted"]) tokens[name] = await confirmedToken(bank, name, serial++);

    const started = await startServe(["--db", dbPath, "--master-key-file", keyFile], children);
    serve = started.child;

    radiusPort = await freePort();
    const config = join(dir, "raddb");
    mkdirSync(config);
    writeRadiusConfig(config, radiusPort);
    radius = spawn("freeradius", ["-X", "-d", config, "-n", "radiusd"], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, OTP_BANK_URL: started.base, OTP_BANK_API_KEY: apiKey, OTP_LANGUAGE: "en" },
    });
    children.push(radius);
    await new Promise<void>((resolve, reject) => {
      const heard = (chunk: Buffer) => {
        radiusLog += chunk.toString();
        if (radiusLog.includes("Ready to process requests")) resolve();
      };
      radius!.stdout!.on("data", heard);
      radius!.stderr!.on("data", heard);
      radius!.once("exit", (code) => reject(new Error(`freeradius exited (${code}):\n${radiusLog.slice(-4000)}`)));
    });
  }, 240_000);

  afterAll(async () => {
    if (process.env.RADIUS_DEBUG_LOG) writeFileSync(process.env.RADIUS_DEBUG_LOG, radiusLog);
    await stopAll(children);
    process.off("exit", stopChildren);
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("the right code: Access-Accept (radtest); the same code again: Access-Reject with the bank's sentence", async () => {
    const { userId, token } = tokens.accept;
    const code = codeAt(token, now());
    const first = radtest(radiusPort, userId, code);
    expect(first.code, first.output).toBe("Access-Accept");
    const again = await radclient(radiusPort, { "User-Name": userId, "User-Password": code });
    expect(again.code, again.output).toBe("Access-Reject");
    expect(again.replyMessage).toMatch(/already used/);
  }, 120_000);

  it("a wrong code: Access-Reject with the attempts left", async () => {
    const { userId, token } = tokens.wrong;
    const reply = await radclient(radiusPort, { "User-Name": userId, "User-Password": wrongCode(token) });
    expect(reply.code, reply.output).toBe("Access-Reject");
    expect(reply.replyMessage).toMatch(/wrong code \(9 attempts left before the token locks\)/);
    expect(reply.state).toBeUndefined();
  }, 120_000);

  it("a throttled token: Access-Reject, even with the right code", async () => {
    const { userId, token } = tokens.throttled;
    // Another instance with a 60-second delay counted a wrong code.
    const slow = await Bank.open(store, MasterKey.fromHex(KEY_HEX), { throttleBaseSeconds: 60 });
    await expect(slow.verify(userId, wrongCode(token))).rejects.toMatchObject({ code: "wrong-code" });
    const reply = await radclient(radiusPort, { "User-Name": userId, "User-Password": codeAt(token, now()) });
    expect(reply.code, reply.output).toBe("Access-Reject");
    expect(reply.replyMessage).toMatch(/Too soon after a wrong code/);
  }, 120_000);

  it("a locked token: Access-Reject, even with the right code", async () => {
    const { userId, token } = tokens.locked;
    for (let i = 0; i < 10; i++) await bank.verify(userId, wrongCode(token)).catch(() => undefined);
    expect((await bank.status(userId)).token?.locked).toBe(true);
    const reply = await radclient(radiusPort, { "User-Name": userId, "User-Password": codeAt(token, now()) });
    expect(reply.code, reply.output).toBe("Access-Reject");
    expect(reply.replyMessage).toMatch(/cannot be used \(locked, suspended, revoked or expired\)/);
  }, 120_000);

  it("an unknown User ID: Access-Reject; a malformed one or a code with letters: Access-Reject without a call to the bank", async () => {
    const unknown = await radclient(radiusPort, { "User-Name": "2083L0999999A001", "User-Password": "123456" });
    expect(unknown.code, unknown.output).toBe("Access-Reject");
    expect(unknown.replyMessage).toMatch(/No token has this User ID/);
    const before = radiusLog.length;
    for (const [user, code] of [
      ["2083l0000001a001", "123456"],
      [tokens.accept.userId, "12345a"],
      [`${tokens.accept.userId}","x":"`, "123456"],
    ]) {
      const reply = await radclient(radiusPort, { "User-Name": user, "User-Password": code });
      expect(reply.code, reply.output).toBe("Access-Reject");
      expect(reply.replyMessage).toMatch(/Enter your User ID and the code your token shows/);
    }
    expect(radiusLog.slice(before)).not.toMatch(/otp_bank/);
  }, 120_000);

  it("a drifted token: its code gets an Access-Challenge, the next code with the State resynchronises it (Access-Accept)", async () => {
    const { userId, token } = tokens.drifted;
    // The token's clock runs five steps ahead: its code is outside the login window, inside the resync window.
    const ahead = now() + 5 * token.period;
    const challenge = await radclient(radiusPort, { "User-Name": userId, "User-Password": codeAt(token, ahead) });
    expect(challenge.code, challenge.output).toBe("Access-Challenge");
    expect(challenge.replyMessage).toMatch(/wait for the next code and enter it/);
    expect(challenge.state).toMatch(/^0x[0-9a-f]{60,}$/);
    // The first code was counted as a wrong one: its 1-second delay passes before the next code is typed.
    await sleep(2100);
    const next = await radclient(radiusPort, {
      "User-Name": userId,
      "User-Password": codeAt(token, ahead + token.period),
      State: challenge.state!,
    });
    expect(next.code, next.output).toBe("Access-Accept");
    expect((await bank.status(userId)).token?.driftSteps).toBeGreaterThanOrEqual(5);
    // A State that was not the bank's: Access-Reject.
    const forged = await radclient(radiusPort, {
      "User-Name": userId,
      "User-Password": codeAt(token, ahead + 2 * token.period),
      State: `0x${"ab".repeat(60)}`,
    });
    expect(forged.code, forged.output).toBe("Access-Reject");
  }, 120_000);

  it("the service down: Access-Reject", async () => {
    const { userId, token } = tokens.drifted;
    await new Promise((resolve) => serve!.once("exit", resolve).kill("SIGTERM"));
    const reply = await radclient(radiusPort, { "User-Name": userId, "User-Password": codeAt(token, now()) });
    expect(reply.code, reply.output).toBe("Access-Reject");
    expect(reply.replyMessage).toMatch(/cannot be checked now/);
  }, 120_000);
});
