// The terminal simulator (npm start): the scripted run without a terminal, and the interactive one
// driven through tmux as a person would (press a key, read the code off the screen).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import stringWidth from "string-width";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Board, DEFAULT_BOARD_START_MS } from "../host/board/board.js";
import { newForm, openSim, registerWithBank, sendToBank } from "../host/cli/sim.js";
import { SimToken } from "../host/token/sim-token.js";
import { randomBytes } from "node:crypto";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import { openStore } from "../host/bank/open-store.js";
import { DEMO_PROFILE } from "../host/cli/sim.js";
import { otpApi } from "../host/otp.js";
import { commandWorks, requireTool } from "./helpers.js";

const CLI = fileURLToPath(new URL("../dist/host/cli.js", import.meta.url));
const api = otpApi();

describe("npm start without a terminal", () => {
  it("prints the scripted run: the demo code, then the next code exactly at the step boundary", () => {
    const result = spawnSync(process.execPath, [CLI, "sim"], { encoding: "utf8", env: { ...process.env, LANG: "C.UTF-8", LC_ALL: "" } });
    expect(result.status).toBe(0);
    const out = result.stdout;
    const start = DEFAULT_BOARD_START_MS / 1000 + 50;
    const before = api.totp(DEMO_PROFILE.seed, start);
    const after = api.totp(DEMO_PROFILE.seed, start + 10);
    expect(out).toContain("scripted run");
    // The manual's 60-second countdown: 9 s left, the last second reads 0, the new code starts at 59.
    expect(out).toContain(`DEMO  code ${before}  9 s left`);
    expect(out).toContain(`DEMO  code ${before}  0 s left`);
    expect(out).toContain(`DEMO  code ${after}  59 s left`);
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

const HAS_TMUX = requireTool("tmux", commandWorks("tmux", ["-V"]), "the interactive simulator test is skipped");

describe.runIf(HAS_TMUX)("the interactive simulator in tmux", () => {
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
    const store = await openStore(db, { create: true });
    const bank = await Bank.open(store, MasterKey.fromHex(masterKey));
    // After kill-session of the last session the tmux server exits; a new-session meanwhile can meet
    // the exiting server ("server exited unexpectedly"): wait for it to be gone and start again.
    const start = async (columns = 140, lang = "C.UTF-8") => {
      for (let attempt = 1; ; attempt++) {
        try {
          return startOnce(columns, lang);
        } catch (error) {
          if (attempt === 5 || !String((error as { stderr?: string }).stderr ?? error).includes("server exited unexpectedly")) throw error;
          await new Promise((r) => setTimeout(r, 200 * attempt));
        }
      }
    };
    const startOnce = (columns: number, lang: string) =>
      tmux(
        "new-session",
        "-d",
        "-s",
        session,
        "-x",
        String(columns),
        "-y",
        "45",
        `LANG=${lang} LC_ALL= OTP_TOKEN_HOME=${home} OTP_BANK_MASTER_KEY=${masterKey} ${process.execPath} ${CLI} sim --db ${db}; sleep 30`,
      );
    const pane = (format: string) => tmux("display-message", "-p", "-t", session, format).trim();
    try {
      await start();
      await waitFor(/Program the demo profile/);
      tmux("send-keys", "-t", session, "y", "Enter");
      await waitFor(/\[space\] press/);
      // The alternate screen, the cursor hidden.
      expect(pane("#{alternate_on} #{cursor_flag}")).toBe("1 0");
      tmux("send-keys", "-t", session, " ");
      const text = await waitFor(/DEMO {2}code \d{6}/);
      // Wide enough: the panel in half blocks, 128 columns.
      expect(text).toMatch(/┌─{128}┐/);
      const code = /DEMO {2}code (\d{6})/.exec(text)![1];
      const now = Math.floor(Date.now() / 1000);
      const candidates = [-60, 0, 60].map((d) => api.totp(DEMO_PROFILE.seed, now + d));
      expect(candidates).toContain(code);
      tmux("send-keys", "-t", session, "q");
      await waitFor(/Saved /);
      // Back on the main screen with the cursor shown.
      expect(pane("#{alternate_on} #{cursor_flag}")).toBe("0 1");
      tmux("kill-session", "-t", session);
      const flash = join(home, "token.flash");
      expect(existsSync(flash)).toBe(true);
      expect(statSync(flash).size).toBe(16384);
      // Restarted in an 80-column terminal, in Japanese: no offer this time, the demo profile is still
      // there, and every line fits (the panel in quadrant blocks, 64 columns).
      await start(80, "ja_JP.UTF-8");
      await waitFor(/\[space\] 押す/);
      expect(screen()).not.toContain("Program the demo profile");
      tmux("send-keys", "-t", session, " ");
      const narrow = await waitFor(/DEMO {2}ワンタイムパスワード \d{6} {2}あと \d+ 秒/);
      expect(narrow).toMatch(/┌─{64}┐/);
      for (const line of narrow.split("\n")) expect(stringWidth(line), line).toBeLessThanOrEqual(80);

      // Registration (the manual's steps 5 and 6) against a bank database, through the form:
      // a wrong password first (the bank answers 送信, CPace cannot tell; the token refuses the answer at
      // 登録, with the attempts left), then the right one, 同意する, 送信, 登録.
      const issued = await bank.issue({
        mail: "jiro@example.jp",
        mailConfirm: "jiro@example.jp",
        password: "Xy12",
        passwordConfirm: "Xy12",
      });
      tmux("send-keys", "-t", session, "a");
      await waitFor(/トークン登録/);
      tmux("send-keys", "-t", session, issued.serviceId, "Enter", issued.userId, "Enter", "Zz99", "Enter");
      await waitFor(/> \[ \] 同意する/);
      tmux("send-keys", "-t", session, "Enter");
      await waitFor(/「同意する」にチェックを入れてください/);
      tmux("send-keys", "-t", session, "y", "Enter");
      await waitFor(/銀行から応答がありました/);
      tmux("send-keys", "-t", session, "Enter");
      await waitFor(/利用開始パスワードが違います。あと 4/);
      expect(screen()).toMatch(/表示は消えています|未設定|DEMO/);
      expect(screen()).not.toContain("登録中");
      tmux("send-keys", "-t", session, "Xy12", "Enter", "Enter");
      await waitFor(/銀行から応答がありました/);
      expect(screen()).not.toContain("Xy12");
      tmux("send-keys", "-t", session, "Enter");
      const registered = await waitFor(/登録しました。/);
      const newCode = /BANK {2}ワンタイムパスワード (\d{6})/.exec(registered)![1];
      expect((await bank.confirm(issued.userId, newCode)).ok).toBe(true);

      // The erase key: the token asks for the hold, h gives it, and the token is not set up.
      tmux("send-keys", "-t", session, "e");
      await waitFor(/消去の確認：10秒以内にボタンAを長押しすると消去します/);
      expect(screen()).toContain("[e] 消去");
      tmux("send-keys", "-t", session, "h");
      await waitFor(/未設定/);
      tmux("send-keys", "-t", session, "q");
    } finally {
      await store.close();
      spawnSync("tmux", ["kill-session", "-t", session]);
      rmSync(home, { recursive: true, force: true });
    }
  }, 90_000);

  it("the re-set-up with a login (issue 18): log in, トークン発行, the same token again, 認証確認, log out, log in with the first code a press shows", async () => {
    const home = mkdtempSync(join(tmpdir(), "otp-token-sim-"));
    const session = `otp-resetup-${process.pid}`;
    const tmux = (...args: string[]) => execFileSync("tmux", args, { encoding: "utf8" });
    const screen = () => tmux("capture-pane", "-p", "-t", session);
    const waitFor = async (pattern: RegExp, ms = 15_000): Promise<string> => {
      const until = Date.now() + ms;
      for (;;) {
        const text = screen();
        if (pattern.test(text)) return text;
        if (Date.now() > until) throw new Error(`timed out waiting for ${pattern}; screen:\n${text}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    // 10-second steps, so the next code is never far; the bank runs in this process on the same file.
    const period = 10;
    const nextStep = async () => {
      const step = Math.floor(Date.now() / 1000 / period);
      while (Math.floor(Date.now() / 1000 / period) === step) await new Promise((r) => setTimeout(r, 100));
    };
    const masterKey = randomBytes(32).toString("hex");
    const db = join(home, "bank.sqlite");
    const store = await openStore(db, { create: true });
    const bank = await Bank.open(store, MasterKey.fromHex(masterKey));
    const loginPassword = "Login-pass-42";
    await bank.createCustomer({ loginId: "jiro0001", password: loginPassword });
    const issueFor = (ticket: string) =>
      bank.issue({
        mail: "jiro@example.jp",
        mailConfirm: "jiro@example.jp",
        password: "Xy12",
        passwordConfirm: "Xy12",
        ticket,
        otp: { period },
      });
    /** Key a: the registration form, 同意する, 送信, 登録 (the simulator's own bank call). */
    const register = async (ids: { serviceId: string; userId: string }) => {
      tmux("send-keys", "-t", session, "a");
      await waitFor(/Token registration/);
      tmux("send-keys", "-t", session, ids.serviceId, "Enter", ids.userId, "Enter", "Xy12", "Enter");
      await waitFor(/> \[ \] I agree/);
      tmux("send-keys", "-t", session, "y", "Enter");
      await waitFor(/The bank answered/);
      tmux("send-keys", "-t", session, "Enter");
    };
    /** Space: a single press; the code the panel's line shows once it is not `used` (the screen redraws each second). */
    const press = async (used: string | null) => {
      tmux("send-keys", "-t", session, " ");
      for (;;) {
        const code = /BANK {2}code (\d{6})/.exec(await waitFor(/BANK {2}code \d{6}/))![1];
        if (code !== used) return code;
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    try {
      tmux(
        "new-session",
        "-d",
        "-s",
        session,
        "-x",
        "140",
        "-y",
        "45",
        `LANG=C.UTF-8 LC_ALL= OTP_TOKEN_HOME=${home} OTP_BANK_MASTER_KEY=${masterKey} ${process.execPath} ${CLI} sim --db ${db}; sleep 30`,
      );
      await waitFor(/Program the demo profile/);
      tmux("send-keys", "-t", session, "n", "Enter");
      await waitFor(/\[space\] press/);
      // ① ID and password; ② ③ ⑤ ⑥ on the simulator; ⑦.
      const first = await bank.login({ loginId: "jiro0001", password: loginPassword });
      const a001 = await issueFor(first.ticket);
      expect(a001.userId).toMatch(/L0000001A001$/);
      await register(a001);
      const registered = await waitFor(/Registered\./);
      const confirmedWith = /BANK {2}code (\d{6})/.exec(registered)![1];
      await bank.confirm(a001.userId, confirmedWith);
      // ⑧ then the re-set-up: logged in with the token's next code, トークン発行 again, the same token.
      await nextStep();
      const loggedInWith = await press(confirmedWith);
      const second = await bank.login({ loginId: "jiro0001", password: loginPassword, code: loggedInWith });
      expect(second.userId).toBe(a001.userId);
      const a002 = await issueFor(second.ticket);
      expect(a002.userId).toBe(`${a001.userId.slice(0, 13)}002`);
      await register(a002);
      await waitFor(/hold button A \(h\) within 10 s to replace it/);
      tmux("send-keys", "-t", session, "h");
      await new Promise((r) => setTimeout(r, 3000));
      const replacedWith = await press(null);
      await bank.confirm(a002.userId, replacedWith);
      // Logged out; in again with ID, password and the first code a single press shows.
      await nextStep();
      const code = await press(replacedWith);
      const third = await bank.login({ loginId: "jiro0001", password: loginPassword, code });
      expect(third.userId).toBe(a002.userId);
      // The old User ID's code is refused; the token holds one profile for the Service ID.
      await expect(bank.verify(a001.userId, code)).rejects.toMatchObject({ code: "unknown" });
      tmux("send-keys", "-t", session, "q");
      await waitFor(/Saved /);
      const info = spawnSync(process.execPath, [CLI, "token", "info"], {
        encoding: "utf8",
        env: { ...process.env, OTP_TOKEN_HOME: home, LANG: "C.UTF-8", LC_ALL: "" },
      });
      const profiles = info.stdout.match(/^profile \d+: .*$/gm) ?? [];
      expect(profiles.filter((line) => line.includes(`Service ID ${a002.serviceId}`))).toHaveLength(1);
    } finally {
      await store.close();
      spawnSync("tmux", ["kill-session", "-t", session]);
      // The simulator may still be writing its flash file as tmux ends it.
      rmSync(home, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    }
  }, 120_000);

  it("puts the terminal back when it crashes (the flash file cannot be saved)", async () => {
    const home = mkdtempSync(join(tmpdir(), "otp-token-sim-"));
    const session = `otp-crash-${process.pid}`;
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
    try {
      tmux(
        "new-session",
        "-d",
        "-s",
        session,
        "-x",
        "100",
        "-y",
        "40",
        `LANG=C.UTF-8 LC_ALL= OTP_TOKEN_HOME=${home} ${process.execPath} ${CLI} sim; echo "exit status $?"; sleep 30`,
      );
      await waitFor(/Program the demo profile/);
      tmux("send-keys", "-t", session, "y", "Enter");
      await waitFor(/\[space\] press/);
      // The flash file becomes a folder with something in it: the next save (the first press records
      // the time in flash) fails, and the simulator dies of it.
      const flash = join(home, "token.flash");
      rmSync(flash);
      mkdirSync(join(flash, "in-the-way"), { recursive: true });
      tmux("send-keys", "-t", session, " ");
      const after = await waitFor(/exit status 1/);
      expect(after).toMatch(/otp-token sim: .* \[E[A-Z]+\]/);
      expect(after).not.toMatch(/\n\s+at /);
      expect(tmux("display-message", "-p", "-t", session, "#{alternate_on} #{cursor_flag}").trim()).toBe("0 1");
    } finally {
      spawnSync("tmux", ["kill-session", "-t", session]);
      rmSync(home, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("the simulator's clock", () => {
  it("is wall time from the moment it starts, whatever is asked first (an injected wall clock)", async () => {
    const home = mkdtempSync(join(tmpdir(), "otp-token-clock-"));
    try {
      const startMs = Date.UTC(2026, 11, 6, 9, 0, 0, 250);
      let wallMs = startMs;
      const asked: string[] = [];
      // The holder reads the first-run question for two minutes before answering.
      const { token, pace } = await openSim(
        join(home, "token.flash"),
        1,
        async (question) => {
          asked.push(question);
          wallMs += 120_000;
          return "y";
        },
        () => wallMs,
      );
      expect(asked).toEqual([expect.stringContaining("Program the demo profile")]);
      expect(token.rtcSeconds()).toBe(BigInt(Math.floor(wallMs / 1000)));
      // The code a press shows is the one for the wall time now, as the bank computes it.
      token.press();
      expect(token.screen().code).toBe(api.totp(DEMO_PROFILE.seed, Math.floor(wallMs / 1000)));
      wallMs += 45_500;
      pace.catchUp();
      expect(token.rtcSeconds()).toBe(BigInt(Math.floor(wallMs / 1000)));
      // At --speed 10 the clock runs ten times as fast from the start, the question's time included.
      const fast = await openSim(
        join(home, "fast.flash"),
        10,
        async () => {
          wallMs += 60_000;
          return "n";
        },
        () => wallMs,
      );
      expect(fast.token.rtcSeconds()).toBe(BigInt(Math.floor((wallMs - 60_000) / 1000) + 600));
      expect(fast.token.profiles()).toHaveLength(0);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe("the simulator's registration on a token that holds the Service ID", () => {
  it("registers, and on the re-set-up asks for the hold that replaces the profile: one profile, whose code the bank confirms", async () => {
    const home = mkdtempSync(join(tmpdir(), "otp-token-resetup-"));
    const keyFile = join(home, "bank-master.key");
    writeFileSync(keyFile, randomBytes(32).toString("hex"), { mode: 0o600 });
    const db = join(home, "bank.sqlite");
    const store = await openStore(db, { create: true });
    try {
      const token = new SimToken({ board: new Board({ startMs: Date.now() }) });
      // The bank checks codes on the token's clock (the simulator's own bank opens on the wall clock: issues only).
      const bank = await Bank.open(store, MasterKey.fromFile(keyFile), { now: () => Number(token.rtcSeconds()) });
      const holder = { mail: "shiro@example.jp", mailConfirm: "shiro@example.jp", password: "Ab12", passwordConfirm: "Ab12" };
      const options = { db, masterKeyFile: keyFile };
      const registerIssue = async (ids: { serviceId: string; userId: string }) => {
        const form = { ...newForm(), ...ids, password: "Ab12", consent: true };
        return registerWithBank(token, await sendToBank(token, form, options), options);
      };
      const first = await bank.issue(holder);
      expect(await registerIssue(first)).toMatchObject({ profile: 0, replacing: false });
      expect((await bank.confirm(first.userId, token.screen().code!)).ok).toBe(true);
      token.advance(61_000);
      const second = await bank.issue({ ...holder, userId: first.userId });
      expect(await registerIssue(second)).toMatchObject({ profile: 0, replacing: true });
      expect(token.screen().mode).toBe("replace-confirm");
      token.hold();
      expect(token.profiles()).toHaveLength(1);
      expect((await bank.confirm(second.userId, token.screen().code!)).ok).toBe(true);
    } finally {
      await store.close();
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe("the simulator in Japanese (issue 18, item 6)", () => {
  it("asks its first question in Japanese under LANG=ja", async () => {
    const home = mkdtempSync(join(tmpdir(), "otp-token-ja-"));
    try {
      const asked: string[] = [];
      await openSim(
        join(home, "token.flash"),
        1,
        async (question) => {
          asked.push(question);
          return "n";
        },
        Date.now,
        "ja",
      );
      expect(asked).toEqual([
        "このトークンにはプロファイルがありません。デモ用のプロファイル（RFC 6238 のテスト用シード）を書き込みますか？ [Y/n] ",
      ]);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
