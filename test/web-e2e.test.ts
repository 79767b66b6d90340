// The whole procedure in headless Chromium (Debian's chromium driven by playwright-core), by clicking
// and typing as a holder would: ① log in (ID and password), ② issue (戻る voids the issue it leaves),
// read the IDs, register the token (the real firmware in the page), ⑦ type its code into the bank,
// ⑧ log in with ID, password and a later code; then the re-set-up (issue 18): issue again, register
// the same token (it replaces the profile of the Service ID on a hold), 認証確認, log out, log in with
// the first code a single press shows. Error paths: mismatched confirmations, a wrong activation
// password, a replayed code. Screenshots of each step go to test-output/web/, and
// the page weight (bytes transferred on first load) to test-output/web/page-weight.json.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { FastifyInstance } from "fastify";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import type { BankStore } from "../host/bank/store.js";
import { openStore } from "../host/bank/open-store.js";
import { createWebServer, listen } from "../host/web/server.js";
import { hasChromium, launchChromium, OUT, sayIfSkipped, type TokenScreen } from "./browser-helpers.js";

sayIfSkipped("web-e2e");

const MAIL = "hanako.sato@example.jp";
const PASSWORD = "Abc12345";
const LOGIN_ID = "hanako01";
const LOGIN_PASSWORD = "Login-pass-42";

let dir: string;
let store: BankStore;
let bank: Bank;
let server: FastifyInstance;
let adminKey: string;
let base: string;
let context: BrowserContext;
let page: Page;
const serverLog: string[] = [];
const pageProblems: string[] = [];
let shot = 0;

async function screenshot(name: string): Promise<void> {
  shot++;
  await page.screenshot({ path: join(OUT, `${String(shot).padStart(2, "0")}-${name}.png`), fullPage: true });
}

const tokenScreen = () => page.evaluate(() => window.otpToken!.screen());

/** Presses the token's button A with the keyboard (focus, Space down and up) and returns what it shows. */
async function pressTokenButton(): Promise<TokenScreen> {
  await page.focus("#token-button");
  await page.keyboard.down(" ");
  await page.keyboard.up(" ");
  return tokenScreen();
}

describe.skipIf(!hasChromium)("browser simulator in headless Chromium", () => {
  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), "otp-web-e2e-"));
    store = await openStore(join(dir, "bank.sqlite"), { create: true, thread: "worker" });
    bank = await Bank.open(store, MasterKey.fromBytes(randomBytes(32)), { outboxDir: join(dir, "outbox") });
    await bank.createCustomer({ loginId: LOGIN_ID, password: LOGIN_PASSWORD });
    adminKey = (await bank.createApiKey("admin", "e2e")).key;
    server = await createWebServer({ bank, outboxDir: join(dir, "outbox"), log: (line) => serverLog.push(line) });
    base = await listen(server, 0);
    context = await launchChromium(join(dir, "profile"), { width: 1280, height: 900 });
    page = context.pages()[0] ?? (await context.newPage());
    page.on("console", (message) => {
      // The refusals the test provokes (401 wrong password, 409 replay) are logged by Chromium as failed loads: expected.
      if (message.type() === "error" && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(message.text())) {
        pageProblems.push(`console: ${message.text()}`);
      }
    });
    page.on("pageerror", (error) => pageProblems.push(`page error: ${error.message}`));
  }, 30_000);

  afterAll(async () => {
    await context?.close();
    await server?.close();
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("performs the whole procedure by clicking and typing, refuses the error paths, and keeps the token across a reload", async () => {
    // First load: everything comes from this server; count the bytes.
    const responses: { url: string; bytes: number }[] = [];
    const sizing: Promise<void>[] = [];
    page.on("response", (response) => {
      sizing.push(
        response
          .request()
          .sizes()
          .then((sizes) => {
            responses.push({ url: response.url(), bytes: sizes.responseBodySize + sizes.responseHeadersSize });
          }),
      );
    });
    await page.goto(base);
    await page.waitForFunction(() => window.otpToken?.ready === true);
    await page.waitForLoadState("networkidle");
    await Promise.all(sizing);
    page.removeAllListeners("response");
    const total = responses.reduce((sum, r) => sum + r.bytes, 0);
    writeFileSync(join(OUT, "page-weight.json"), `${JSON.stringify({ totalBytes: total, responses }, null, 2)}\n`);
    console.log(`web-e2e: page weight on first load: ${total} bytes in ${responses.length} responses`);
    for (const { url } of responses) expect(url.startsWith(base)).toBe(true);
    await screenshot("login");

    // A new token: not set up. Button A by keyboard wakes it.
    expect((await pressTokenButton()).mode).toBe("not-set-up");

    // ② needs ①: トークン発行 before the login shows the login screen, saying so.
    await page.click('nav [data-go="issue"]');
    expect(await page.isVisible("#screen-login")).toBe(true);
    expect(await page.textContent("#login-message")).toBe("トークン発行の前にログインしてください。");
    // ①: a wrong password is refused in the customer's words; the right one logs in.
    await page.fill("#login-id", LOGIN_ID);
    await page.fill("#login-password", "Wrong-pass-1");
    await page.click("#login-submit");
    await expect
      .poll(() => page.textContent("#login-message"), { timeout: 30_000 })
      .toContain("ログインIDまたはログインパスワードが違います。");
    await page.waitForTimeout(1100); // the throttling delay after one failure (1 s), so the next try is checked
    await page.fill("#login-password", LOGIN_PASSWORD);
    await page.click("#login-submit");
    await page.waitForSelector("#screen-welcome:not([hidden])");
    expect(await page.textContent("#welcome-customer")).toBe("0000001");
    await screenshot("logged-in-first");
    await page.click("#welcome-issue");

    // Token issue: mismatched confirmations are refused, each with its own message.
    await page.fill("#issue-mail", MAIL);
    await page.fill("#issue-mail2", "hanako.sato@example.com");
    await page.fill("#issue-password", PASSWORD);
    await page.fill("#issue-password2", "Abc12346");
    await page.click("#issue-submit");
    await expect.poll(() => page.textContent("#issue-mail2-error")).toContain("再入力した携帯電話メールアドレスが一致しません");
    expect(await page.textContent("#issue-password2-error")).toContain("一致しません");
    expect(await page.getAttribute("#issue-mail2", "aria-invalid")).toBe("true");
    expect(await page.isVisible("#screen-issue")).toBe(true);
    await screenshot("issue-mismatch");

    await page.fill("#issue-mail2", MAIL);
    await page.fill("#issue-password2", PASSWORD);
    await screenshot("issue");
    await page.click("#issue-submit");
    await page.waitForSelector("#screen-confirm:not([hidden])");
    // The logged-in customer's issue; 戻る voids it at the bank and issues again for the same customer.
    const left = (await page.textContent("#confirm-user-id"))!.trim();
    expect(left).toMatch(/^[0-9]{4}L0000001A001$/);
    expect(await page.textContent("#screen-confirm")).toContain(
      "携帯電話へのトークンダウンロードと設定を行い、ワンタイムパスワードの生成を行ってください。",
    );
    await page.click("#confirm-back");
    await page.waitForSelector("#screen-issue:not([hidden])");
    expect((await bank.status(left)).issue).toMatchObject({ state: "void" });
    for (const [id, text] of [
      ["#issue-mail", MAIL],
      ["#issue-mail2", MAIL],
      ["#issue-password", PASSWORD],
      ["#issue-password2", PASSWORD],
    ])
      await page.fill(id, text);
    await page.click("#issue-submit");
    await page.waitForSelector("#screen-confirm:not([hidden])");
    const serviceId = (await page.textContent("#confirm-service-id"))!.trim();
    const userId = (await page.textContent("#confirm-user-id"))!.trim();
    expect(serviceId).toMatch(/^[0-9]{8}$/);
    expect(userId).toBe(`${left.slice(0, 13)}002`);
    expect(await page.textContent("#confirm-mail")).toBe(MAIL);
    await screenshot("issued");

    // Token registration with a wrong activation password: the bank answers (with CPace it cannot tell),
    // and the token refuses the bank's confirmation at "register"; nothing is registered.
    await page.fill("#reg-service-id", serviceId);
    await page.fill("#reg-user-id", userId);
    await page.fill("#reg-password", "Wrong999");
    await page.check("#reg-consent");
    await page.click("#reg-send");
    // With CPace the bank cannot tell a wrong password: it answers (counting the attempt), and the token
    // refuses the bank's confirmation at 登録, which says the attempts left.
    await page.waitForSelector("#reg-register:not([disabled])");
    await page.click("#reg-register");
    await expect.poll(() => page.textContent("#reg-message")).toContain("利用開始パスワードが違います。あと 4 回");
    // The refused 登録 cancelled the activation: the token is not left on its activating screen.
    expect((await tokenScreen()).mode).not.toBe("activating");
    expect(await page.isDisabled("#reg-register")).toBe(true);
    await screenshot("token-wrong-password");

    // The right password: send, then register; the token shows its first code.
    await page.fill("#reg-password", PASSWORD);
    await page.click("#reg-send");
    await page.waitForSelector("#reg-register:not([disabled])");
    await page.click("#reg-register");
    await expect.poll(async () => (await tokenScreen()).mode).toBe("otp");
    const first = await tokenScreen();
    expect(first.code).toMatch(/^[0-9]{6}$/);
    const serial = await page.evaluate(() => window.otpToken!.serial());

    // The holder types the code into the bank's confirm screen: the login screen follows.
    await page.fill("#confirm-code", first.code!);
    await screenshot("confirm");
    await page.click("#confirm-submit");
    await page.waitForSelector("#screen-login:not([hidden])");
    // ⑧: the login screen, and the manual's last line.
    expect(await page.isVisible("#login-done")).toBe(true);
    expect(await page.textContent("#login-done")).toContain("以上で設定は終了です。");
    await screenshot("login-after-confirm");
    // From now on the password alone does not log in.
    await page.fill("#login-id", LOGIN_ID);
    await page.fill("#login-password", LOGIN_PASSWORD);
    await page.click("#login-submit");
    await expect
      .poll(() => page.textContent("#login-message"))
      .toBe("トークンをお持ちのお客様は、ワンタイムパスワードも入力してください。");

    // A later code: run the token's clock at 10x until its next step, then back to 1x. Not 60x: there
    // a second's delay between the step change and the click to 1x (a loaded CI box) carries the token
    // a second step ahead, outside the bank's window of one step, and the login is refused.
    const firstStep = Math.floor((await page.evaluate(() => window.otpToken!.rtcSeconds())) / 60);
    await page.check("#speed-10");
    await page.waitForFunction((step) => Math.floor(window.otpToken!.rtcSeconds() / 60) > step, firstStep, { polling: 20 });
    await page.check("#speed-1");
    const later = await pressTokenButton();
    expect(later.mode).toBe("otp");
    expect(later.code).not.toBe(first.code);
    await page.fill("#login-password", LOGIN_PASSWORD);
    await page.fill("#login-code", later.code!);
    await page.click("#login-submit");
    await page.waitForSelector("#screen-welcome:not([hidden])");
    expect(await page.textContent("#welcome-user-id")).toBe(userId);
    expect(await page.textContent("#screen-welcome")).not.toMatch(/offset|drift/);
    await screenshot("logged-in");

    // The same code again is a replay: refused.
    await page.click("#logout");
    await page.fill("#login-id", LOGIN_ID);
    await page.fill("#login-password", LOGIN_PASSWORD);
    await page.fill("#login-code", later.code!);
    await page.click("#login-submit");
    await expect.poll(() => page.textContent("#login-message"), { timeout: 30_000 }).toContain("使用済み");
    expect(await page.isVisible("#screen-login")).toBe(true);
    await screenshot("login-replayed");

    // English switch re-words the screen, including the message on it.
    await page.click("#lang-toggle");
    expect(await page.textContent("#login-title")).toBe("Log in");
    expect(await page.textContent("#login-message")).toMatch(/already used/);
    await page.click("#lang-toggle");

    // The set-up mail in the outbox, as the holder receives it.
    await page.click('nav [data-go="outbox"]');
    await expect.poll(() => page.textContent("#outbox-mail")).toContain(`サービスID　${serviceId}`);
    expect(await page.textContent("#outbox-mail")).not.toContain(PASSWORD);
    await screenshot("outbox");

    // The administrator's page finds the token, usable (the replay was one failure, far from the lock).
    await page.click('nav [data-go="admin"]');
    await page.fill("#admin-key", adminKey);
    await page.fill("#admin-user", userId);
    await page.click("#admin-lookup");
    await expect.poll(() => page.textContent("#admin-state")).toBe("利用可能");
    expect(await page.textContent("#admin-failures")).toBe("1");
    await screenshot("admin");

    // The token's flash is in IndexedDB: after a reload it is the same token with its profile.
    await page.reload();
    await page.waitForFunction(() => window.otpToken?.ready === true);
    expect(await page.evaluate(() => window.otpToken!.serial())).toBe(serial);
    expect((await pressTokenButton()).mode).toBe("otp");

    expect(pageProblems).toEqual([]);
    // No password or code in any log line, and no request went anywhere but the API and the page's files.
    for (const line of serverLog) {
      for (const secret of [PASSWORD, "Wrong999", first.code!, later.code!]) expect(line).not.toContain(secret);
    }
  }, 90_000);

  /** Waits for `screen`; a refusal shown in `message` instead fails the test with its words. */
  async function noRefusal(message: string, screen: string): Promise<void> {
    await page.waitForFunction(
      ([m, s]) => document.querySelector(m)?.textContent !== "" || !document.querySelector<HTMLElement>(s)!.hidden,
      [message, screen],
    );
    expect(await page.textContent(message)).toBe("");
  }

  /** Runs the token's clock at 10x until its next step, then back to 1x; a single press; the code it shows. */
  async function nextStepCode(): Promise<string> {
    const step = Math.floor((await page.evaluate(() => window.otpToken!.rtcSeconds())) / 60);
    await page.check("#speed-10");
    await page.waitForFunction((s) => Math.floor(window.otpToken!.rtcSeconds() / 60) > s, step, { polling: 20 });
    await page.check("#speed-1");
    const shown = await pressTokenButton();
    expect(shown.mode).toBe("otp");
    return shown.code!;
  }

  it("the re-set-up (issue 18): log in, トークン発行, the same token again, 認証確認, log out, log in with the first code a press shows", async () => {
    // A customer of its own, on a new token (its flash erased), so the earlier test's steps do not matter.
    await bank.createCustomer({ loginId: "taro0002", password: LOGIN_PASSWORD });
    await page.reload();
    await page.waitForFunction(() => window.otpToken?.ready === true);
    await page.click("#token-reset");
    const logIn = async (code?: string) => {
      await page.click('nav [data-go="login"]');
      await page.fill("#login-id", "taro0002");
      await page.fill("#login-password", LOGIN_PASSWORD);
      await page.fill("#login-code", code ?? "");
      await page.click("#login-submit");
      await noRefusal("#login-message", "#screen-welcome");
    };
    const issueAgain = async () => {
      await page.click("#welcome-issue");
      for (const [id, text] of [
        ["#issue-mail", MAIL],
        ["#issue-mail2", MAIL],
        ["#issue-password", PASSWORD],
        ["#issue-password2", PASSWORD],
      ])
        await page.fill(id, text);
      await page.click("#issue-submit");
      await page.waitForSelector("#screen-confirm:not([hidden])");
      return {
        serviceId: (await page.textContent("#confirm-service-id"))!.trim(),
        userId: (await page.textContent("#confirm-user-id"))!.trim(),
      };
    };
    const register = async (ids: { serviceId: string; userId: string }) => {
      await page.fill("#reg-service-id", ids.serviceId);
      await page.fill("#reg-user-id", ids.userId);
      await page.fill("#reg-password", PASSWORD);
      await page.check("#reg-consent");
      await page.click("#reg-send");
      await page.waitForSelector("#reg-register:not([disabled])");
      await page.click("#reg-register");
    };
    const confirm = async (code: string) => {
      await page.fill("#confirm-code", code);
      await page.click("#confirm-submit");
      await noRefusal("#confirm-message", "#screen-login");
      expect(await page.textContent("#login-done")).toContain("以上で設定は終了です。");
    };

    // The first set-up of this customer: ① ID and password, ② ③ ⑤ ⑥ ⑦.
    await logIn();
    const a001 = await issueAgain();
    expect(a001.userId).toMatch(/^[0-9]{4}L0000002A001$/);
    await register(a001);
    await expect.poll(async () => (await tokenScreen()).mode).toBe("otp");
    await confirm((await tokenScreen()).code!);
    // ⑧ and the re-set-up: log in with ID, password and the token's next code; トークン発行 again.
    await logIn(await nextStepCode());
    expect(await page.textContent("#welcome-user-id")).toBe(a001.userId);
    const a002 = await issueAgain();
    expect(a002).toEqual({ serviceId: a001.serviceId, userId: `${a001.userId.slice(0, 13)}002` });
    // The same token: it holds a profile for this Service ID, so it asks for the hold before replacing it.
    await register(a002);
    await expect.poll(() => page.textContent("#reg-message")).toContain("10秒以内にボタンAを長押しすると、新しいものに置き換わります");
    await page.locator("#token-button").scrollIntoViewIfNeeded();
    const button = (await page.locator("#token-button").boundingBox())!;
    await page.mouse.move(button.x + button.width / 2, button.y + button.height / 2);
    await page.mouse.down();
    await expect.poll(() => page.evaluate(() => window.otpToken!.screen().mode), { timeout: 10_000 }).toBe("otp");
    await page.mouse.up();
    // One profile for the Service ID: the new one replaced the old.
    expect((await page.evaluate(() => window.otpToken!.profiles())).filter((p) => p.serviceId === a002.serviceId)).toHaveLength(1);
    await confirm((await tokenScreen()).code!);
    await screenshot("re-set-up-confirmed");
    // Logged out (⑧); log in with ID, password and the first code a single press shows: accepted.
    const code = await nextStepCode();
    await logIn(code);
    expect(await page.textContent("#welcome-user-id")).toBe(a002.userId);
    // The old User ID's code is refused: it has no token any more.
    await expect(bank.verify(a001.userId, code)).rejects.toMatchObject({ code: "unknown" });
    await page.click("#logout");
    expect(await page.isVisible("#screen-login")).toBe(true);
    expect(pageProblems).toEqual([]);
  }, 180_000);
});
