// Running the service (issue 22, item 5): liveness (/v1/health) and readiness (/v1/ready: the
// database answers, its schema is current), and the hardened systemd unit of contrib/systemd/, which
// `systemd-analyze verify` accepts without a word about it and `systemd-analyze security` rates
// below 2.0 (of 10) exposure.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import { openStore } from "../host/bank/open-store.js";
import { createService } from "../host/bank/service.js";
import type { BankStore } from "../host/bank/store.js";
import { commandWorks, requireTool } from "./helpers.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const UNIT = join(ROOT, "contrib/systemd/otp-token-bank.service");

describe("liveness and readiness", () => {
  let dir: string;
  let store: BankStore;
  let bank: Bank;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "otp-ready-"));
    store = await openStore(join(dir, "bank.sqlite"), { create: true, thread: "worker" });
    bank = await Bank.open(store, MasterKey.fromBytes(new Uint8Array(32).fill(9)));
  });

  afterAll(async () => {
    await store?.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it("/v1/ready: 200 with the store and its schema version while the database answers, 503 + Retry-After when it does not", async () => {
    const app = await createService({ bank });
    try {
      const ready = await app.inject({ method: "GET", url: "/v1/ready" });
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toEqual({ status: "ready", store: "sqlite", schemaVersion: store.schemaVersion });
      const health = await app.inject({ method: "GET", url: "/v1/health" });
      expect(health.statusCode).toBe(200);
      await store.close();
      const down = await app.inject({ method: "GET", url: "/v1/ready" });
      expect(down.statusCode).toBe(503);
      expect(down.headers["retry-after"]).toBe("1");
      expect(down.json()).toMatchObject({ error: "not-ready", message: expect.stringMatching(/^the database does not answer/) });
    } finally {
      await app.close();
    }
  });
});

describe("the systemd unit (contrib/systemd/otp-token-bank.service)", () => {
  const unit = readFileSync(UNIT, "utf8");

  it("runs as a user of its own with the master key by credential, the file system read-only but its state", () => {
    const settings = unit
      .replace(/\\\n/g, " ")
      .split("\n")
      .filter((line) => /^[A-Z]\w*=/.test(line));
    const has = (line: string) => expect(settings).toContain(line);
    has("DynamicUser=yes");
    has("ProtectSystem=strict");
    has("ProtectHome=yes");
    has("NoNewPrivileges=yes");
    has("StateDirectory=otp-token-bank");
    has("LoadCredential=master-key:/etc/otp-token-bank/master.key");
    const exec = settings.find((line) => line.startsWith("ExecStart="));
    expect(exec).toMatch(/ bank serve .*--master-key-file %d\/master-key /);
    expect(exec).toMatch(/--db \/var\/lib\/otp-token-bank\/bank\.sqlite /);
    // No secret in the unit itself.
    expect(unit).not.toMatch(/OTP_BANK_MASTER_KEY|[0-9a-f]{64}/i);
  });

  const haveSystemd = commandWorks("systemd-analyze", ["--version"]);
  if (requireTool("systemd", haveSystemd, "systemd-analyze verifies the shipped unit and rates its hardening")) {
    it("systemd-analyze verify has nothing to say about it; security rates its exposure below 2.0", () => {
      const dir = mkdtempSync(join(tmpdir(), "otp-unit-"));
      try {
        const copy = join(dir, "otp-token-bank.service");
        copyFileSync(UNIT, copy);
        const verify = spawnSync("systemd-analyze", ["verify", copy], { encoding: "utf8", timeout: 60_000 });
        expect(verify.status).toBe(0);
        // Other units' complaints (the host's) are not ours; ours must have none, not even an unknown key.
        expect(`${verify.stdout}${verify.stderr}`.split("\n").filter((line) => line.includes("otp-token-bank"))).toEqual([]);
        const security = spawnSync("systemd-analyze", ["security", "--offline=yes", "--threshold=20", copy], {
          encoding: "utf8",
          timeout: 60_000,
        });
        expect(security.stdout).toMatch(/Overall exposure level for otp-token-bank\.service: 1\.\d/);
        expect(security.status).toBe(0);
        // The same check does catch a unit that is not hardened.
        const bare = join(dir, "bare.service");
        writeFileSync(bare, "[Service]\nExecStart=/usr/bin/node /x.js\n");
        const weak = spawnSync("systemd-analyze", ["security", "--offline=yes", "--threshold=20", bare], { encoding: "utf8" });
        expect(weak.status).not.toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 120_000);
  }
});
