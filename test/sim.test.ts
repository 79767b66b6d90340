// The terminal simulator (npm start): the scripted run without a terminal, and the interactive one
// driven through tmux as a person would (press a key, read the code off the screen).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { DEFAULT_BOARD_START_MS } from "../host/board/board.js";
import { randomBytes } from "node:crypto";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import { BankStore } from "../host/bank/store.js";
import { DEMO_PROFILE } from "../host/cli/sim.js";
import { otpApi } from "../host/otp.js";

const CLI = fileURLToPath(new URL("../dist/host/cli.js", import.meta.url));
const api = otpApi();

function hasTmux(): boolean {
  return spawnSync("tmux", ["-V"]).status === 0;
}

describe("npm start without a terminal", () => {
  it("prints the scripted run: the demo code, then the next code exactly at the step boundary", () => {
    const result = spawnSync(process.execPath, [CLI, "sim"], { encoding: "utf8" });
    expect(result.status).toBe(0);
    const out = result.stdout;
    const start = DEFAULT_BOARD_START_MS / 1000 + 50;
    const before = api.totp(DEMO_PROFILE.seed, start);
    const after = api.totp(DEMO_PROFILE.seed, start + 10);
    expect(out).toContain("scripted run");
    expect(out).toContain(`DEMO  code ${before}  10 s left`);
    expect(out).toContain(`DEMO  code ${before}  1 s left`);
    expect(out).toContain(`DEMO  code ${after}  60 s left`);
    // The panel itself is drawn: box frame and half blocks.
    expect(out).toMatch(/┌─+┐/);
    expect(out).toMatch(/[▀▄█]/);
  });

  it("rejects a bad --speed with a usage error", () => {
    const result = spawnSync(process.execPath, [CLI, "sim", "--speed", "0"], { encoding: "utf8" });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--speed must be a whole number from 1 to 3600/);
  });
});

if (!hasTmux()) console.warn("tmux is not installed: the interactive simulator test is skipped (.ci/run installs it)");

describe.runIf(hasTmux())("the interactive simulator in tmux", () => {
  it("offers the demo profile, shows a live code on a key press, keeps its flash across restarts, registers with the bank", async () => {
    const home = mkdtempSync(join(tmpdir(), "otp-token-sim-"));
    const session = `otp-sim-${process.pid}`;
    const tmux = (...args: string[]) => execFileSync("tmux", args, { encoding: "utf8" });
    const screen = () => tmux("capture-pane", "-p", "-t", session);
    const waitFor = async (pattern: RegExp, ms = 10_000): Promise<string> => {
      const until = Date.now() + ms;
      for (;;) {
        const text = screen();
        if (pattern.test(text)) return text;
        if (Date.now() > until) throw new Error(`timed out waiting for ${pattern}; screen:\n${text}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const masterKey = randomBytes(32).toString("hex");
    const db = join(home, "bank.sqlite");
    const store = BankStore.open(db);
    const bank = new Bank(store, MasterKey.fromHex(masterKey));
    const start = () => tmux("new-session", "-d", "-s", session, "-x", "140", "-y", "45",
      `OTP_TOKEN_HOME=${home} OTP_BANK_MASTER_KEY=${masterKey} ${process.execPath} ${CLI} sim --db ${db}; sleep 30`);
    try {
      start();
      await waitFor(/Program the demo profile/);
      tmux("send-keys", "-t", session, "y", "Enter");
      await waitFor(/\[space\] press/);
      tmux("send-keys", "-t", session, " ");
      const text = await waitFor(/DEMO  code \d{6}/);
      const code = /DEMO  code (\d{6})/.exec(text)![1];
      const now = Math.floor(Date.now() / 1000);
      const candidates = [-60, 0, 60].map((d) => api.totp(DEMO_PROFILE.seed, now + d));
      expect(candidates).toContain(code);
      tmux("send-keys", "-t", session, "q");
      await waitFor(/Saved /);
      tmux("kill-session", "-t", session);
      const flash = join(home, "token.flash");
      expect(existsSync(flash)).toBe(true);
      expect(statSync(flash).size).toBe(16384);
      // Restarted: no offer this time, the demo profile is still there.
      start();
      await waitFor(/\[space\] press/);
      expect(screen()).not.toContain("Program the demo profile");
      tmux("send-keys", "-t", session, " ");
      await waitFor(/DEMO  code \d{6}/);

      // Registration (procedure step 4) against a bank database, through the form.
      const issued = bank.issue({ mail: "jiro@example.jp", mailConfirm: "jiro@example.jp", password: "Xy12", passwordConfirm: "Xy12" });
      tmux("send-keys", "-t", session, "a");
      await waitFor(/Token set-up: registration/);
      tmux("send-keys", "-t", session, issued.serviceId, "Enter", issued.userId, "Enter", "Xy12", "Enter");
      await waitFor(/I agree to the terms/);
      expect(screen()).not.toContain("Xy12");
      tmux("send-keys", "-t", session, "y");
      const registered = await waitFor(/Registered as profile 1/);
      const newCode = /BANK  code (\d{6})/.exec(registered)![1];
      expect(bank.confirm(issued.serviceId, issued.userId, newCode).ok).toBe(true);
      tmux("send-keys", "-t", session, "q");
    } finally {
      store.close();
      spawnSync("tmux", ["kill-session", "-t", session]);
      rmSync(home, { recursive: true, force: true });
    }
  }, 60_000);
});
