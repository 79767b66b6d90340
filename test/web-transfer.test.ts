// 振込 with 取引認証 in headless Chromium (Debian's chromium via playwright-core), issue 23: a customer
// with a token set up in the page logs in, enters a payee and an amount, and the 取引認証 screen
// draws the bank's frame as a flicker code on a canvas; the browser token, held to the screen, reads
// it through its five sensors from the canvas's pixels (nothing hands it the frame as text), shows
// the payee and the amount (its panel is compared with the firmware's own drawing of the transfer
// the page sent), signs on a hold, and the bank accepts the code typed into the page once. Then: the
// same code again is refused; a short press refuses the transfer on the token; and malware that
// changes the page's amount after the bank made the transfer (it redraws the flicker with the changed
// amount) gets the changed amount shown on the token, and the code of what the token shows is refused
// by the bank. Screenshots go to test-output/web/; UPDATE_DOCS_SCREENSHOTS=1 also refreshes
// docs/browser-transfer.png.
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TRANSFER_SCREEN_SECONDS } from "../host/abi.js";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import { openStore } from "../host/bank/open-store.js";
import type { BankStore } from "../host/bank/store.js";
import { FlickerPage } from "../host/optical/flicker.js";
import { frameText } from "../host/optical/frame.js";
import { SimToken } from "../host/token/sim-token.js";
import { decodeTransfer, encodeTransfer } from "../host/transaction.js";
import { createWebServer, listen } from "../host/web/server.js";
import { hasChromium, launchChromium, OUT, sayIfSkipped, type TokenScreen } from "./browser-helpers.js";

sayIfSkipped("web-transfer");

const LOGIN_ID = "furikomi01";
const LOGIN_PASSWORD = "Login-pass-42";
const MAIL = "taro.yamada@example.jp";
const PASSWORD = "Abc12345";
const PAYEE = { bankCode: "0005", branch: "123", account: "7654321", name: "ﾔﾏﾀﾞ ﾀﾛｳ" };

let dir: string;
let store: BankStore;
let bank: Bank;
let server: FastifyInstance;
let base: string;
let context: BrowserContext;
let page: Page;
const pageProblems: string[] = [];

const tokenScreen = () => page.evaluate(() => window.otpToken!.screen());

async function screenshot(name: string, docs?: string): Promise<void> {
  const path = join(OUT, `transfer-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  if (docs && process.env.UPDATE_DOCS_SCREENSHOTS === "1") copyFileSync(path, join(process.cwd(), "docs", docs));
}

/** The token's panel for each of the two transfer screens of `payload`, as the firmware draws them. */
function expectedPanels(payload: Uint8Array): string[] {
  const token = new SimToken({ build: "release" });
  token.addProfile({ seed: new Uint8Array(20).fill(1), label: "BANK" });
  token.press();
  const flicker = new FlickerPage(payload, {}, token.board.clock.now() - 500);
  expect(token.scanPage((timeMs) => flicker.lightAt(timeMs), 3 * flicker.frameMs)).toBe(payload.length);
  const panels: string[] = [];
  for (let screen = 0; screen < 2; screen++) {
    panels[token.screen().profile] = Buffer.from(token.framebuffer()).toString("hex");
    token.advance(TRANSFER_SCREEN_SECONDS * 1000);
  }
  return panels;
}

/** Waits until the code's step has passed on the token (a login needs a code of a later step than 認証確認's). */
async function nextStepCode(): Promise<string> {
  const step = Math.floor((await page.evaluate(() => window.otpToken!.rtcSeconds())) / 60);
  await page.waitForFunction((s) => Math.floor(window.otpToken!.rtcSeconds() / 60) > s, step, { polling: 50 });
  return pressForCode();
}

/** A short press of button A (keyboard): the code screen. */
async function pressForCode(): Promise<string> {
  await page.focus("#token-button");
  await page.keyboard.down(" ");
  await page.keyboard.up(" ");
  await expect.poll(tokenScreen, { timeout: 10_000 }).toMatchObject({ mode: "otp" });
  return (await tokenScreen()).code!;
}

/** 振込: the payee and amount typed into the form; resolves with the bank's answer (its frame and payload). */
async function enterTransfer(amount: string): Promise<{ transactionId: string; frame: string; payload: string }> {
  await page.click('nav [data-go="transfer"]');
  await page.waitForSelector("#screen-transfer:not([hidden])");
  await page.fill("#transfer-bank", PAYEE.bankCode);
  await page.fill("#transfer-branch", PAYEE.branch);
  await page.fill("#transfer-account", PAYEE.account);
  await page.fill("#transfer-name", PAYEE.name);
  await page.fill("#transfer-amount", amount);
  const answer = page.waitForResponse((r) => r.url().endsWith("/v1/transactions") && r.request().method() === "POST");
  await page.click("#transfer-submit");
  const response = await answer;
  expect(response.status()).toBe(200);
  await page.waitForSelector("#screen-txauth:not([hidden])");
  return (await response.json()) as { transactionId: string; frame: string; payload: string };
}

/**
 * The token held to the flicker code until it has read a frame: what it shows then. The read control
 * makes the holder's gesture for scan mode on button A (hold, hold from a dark panel); the code on the
 * panel goes dark first, at 10x time meanwhile (the transfer's code does not depend on the clock), and
 * the page's speed returns to 1x once the firmware scans (the sensors read the canvas in real time).
 */
async function scan(): Promise<TokenScreen> {
  await page.click("#token-scan");
  expect(await page.evaluate(() => window.otpToken!.scanning())).toBe(true);
  expect((await tokenScreen()).mode).not.toBe("scan");
  await page.check("#speed-10");
  await page.waitForFunction(() => window.otpToken!.screen().mode === "scan" || !window.otpToken!.scanning(), undefined, {
    polling: 20,
    timeout: 60_000,
  });
  await page.check("#speed-1");
  await page.waitForFunction(() => !window.otpToken!.scanning(), undefined, { polling: 100, timeout: 180_000 });
  return tokenScreen();
}

/** What the token shows now matches the firmware's drawing of `payload` (screen 0 or 1, whichever is up). */
async function expectPanelShows(payload: Uint8Array): Promise<void> {
  const panels = expectedPanels(payload);
  const shown = await page.evaluate(() => ({
    panel: window.otpToken!.panel(),
    screen: window.otpToken!.screen().profile ?? -1,
    mode: window.otpToken!.screen().mode,
  }));
  expect(shown.mode).toBe("transfer");
  expect(Buffer.from(shown.panel).toString("hex")).toBe(panels[shown.screen]);
}

/** Holds button A (keyboard) until the token shows its transfer code. */
async function holdToSign(): Promise<string> {
  await page.focus("#token-button");
  await page.keyboard.down(" ");
  try {
    await expect.poll(tokenScreen, { timeout: 30_000 }).toMatchObject({ mode: "transfer-code" });
  } finally {
    await page.keyboard.up(" ");
  }
  return (await tokenScreen()).code!;
}

async function submitCode(code: string): Promise<string> {
  await page.fill("#txauth-code", code);
  const answer = page.waitForResponse((r) => r.url().includes("/v1/transactions/") && r.url().endsWith("/verify"));
  await page.click("#txauth-submit");
  await answer;
  await expect.poll(() => page.textContent("#txauth-message")).not.toBe("");
  return (await page.textContent("#txauth-message"))!;
}

describe.skipIf(!hasChromium)("振込 with 取引認証 in headless Chromium", () => {
  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), "otp-web-transfer-"));
    store = await openStore(join(dir, "bank.sqlite"), { create: true, thread: "worker" });
    bank = await Bank.open(store, MasterKey.fromBytes(randomBytes(32)), { outboxDir: join(dir, "outbox") });
    await bank.createCustomer({ loginId: LOGIN_ID, password: LOGIN_PASSWORD });
    server = await createWebServer({ bank, outboxDir: join(dir, "outbox"), log: () => {} });
    base = await listen(server, 0);
    context = await launchChromium(join(dir, "profile"), { width: 1280, height: 1000 });
    page = context.pages()[0] ?? (await context.newPage());
    page.on("console", (message) => {
      if (message.type() === "error" && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(message.text())) {
        pageProblems.push(`console: ${message.text()}`);
      }
    });
    page.on("pageerror", (error) => pageProblems.push(`page error: ${error.message}`));
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await server?.close();
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("振込 → 取引認証: the token reads the flicker from the page's pixels, shows what the page sent, signs on a hold; replay, a short press and a tampered amount are refused", async () => {
    await page.goto(base);
    await page.waitForFunction(() => window.otpToken?.ready === true);

    // Before login, and before the token: 振込 asks to log in first.
    await page.click('nav [data-go="transfer"]');
    await page.waitForSelector("#screen-login:not([hidden])");
    expect(await page.textContent("#login-message")).toBe("振込の前にログインしてください。");

    // A customer with a token set up in this page: ① login, ② トークン発行, 送信 and 登録 on the token, 認証確認.
    await page.fill("#login-id", LOGIN_ID);
    await page.fill("#login-password", LOGIN_PASSWORD);
    await page.click("#login-submit");
    await page.waitForSelector("#screen-welcome:not([hidden])");
    await page.click("#welcome-issue");
    await page.fill("#issue-mail", MAIL);
    await page.fill("#issue-mail2", MAIL);
    await page.fill("#issue-password", PASSWORD);
    await page.fill("#issue-password2", PASSWORD);
    await page.click("#issue-submit");
    await page.waitForSelector("#screen-confirm:not([hidden])");
    await page.fill("#reg-service-id", (await page.textContent("#confirm-service-id"))!.trim());
    await page.fill("#reg-user-id", (await page.textContent("#confirm-user-id"))!.trim());
    await page.fill("#reg-password", PASSWORD);
    await page.check("#reg-consent");
    await page.click("#reg-send");
    await page.waitForSelector("#reg-register:not([disabled])");
    await page.click("#reg-register");
    await expect.poll(tokenScreen, { timeout: 20_000 }).toMatchObject({ mode: "otp" });
    await page.fill("#confirm-code", (await tokenScreen()).code!);
    await page.click("#confirm-submit");
    await page.waitForSelector("#screen-login:not([hidden])");
    // ⑧: the login with the token's code (of a later step than the one 認証確認 used).
    await page.fill("#login-id", LOGIN_ID);
    await page.fill("#login-password", LOGIN_PASSWORD);
    await page.fill("#login-code", await nextStepCode());
    await page.click("#login-submit");
    await page.waitForSelector("#screen-welcome:not([hidden])");

    // 振込: a payee and an amount; the 取引認証 screen draws the bank's frame and shows it as text.
    const created = await enterTransfer("1,234,567");
    expect(await page.textContent("#txauth-payee")).toBe("0005-123 7654321 ﾔﾏﾀﾞ ﾀﾛｳ");
    expect(await page.textContent("#txauth-amount")).toBe("1,234,567");
    expect(await page.textContent("#txauth-frame")).toBe(created.frame);
    const payload = Uint8Array.from(Buffer.from(created.payload, "hex"));
    expect(decodeTransfer(payload)).toMatchObject({ ...PAYEE, amount: 1_234_567 });
    // 遅く / 速く: the levels a second, as the banks' flicker pages offer.
    await page.click("#flicker-faster");
    expect(await page.textContent("#flicker-rate")).toBe("25/s");
    await page.click("#flicker-slower");
    await page.click("#flicker-slower");
    expect(await page.textContent("#flicker-rate")).toBe("15/s");

    // Held to the screen: the token reads the canvas's pixels and shows the transfer the page sent.
    expect(await scan()).toMatchObject({ mode: "transfer" });
    expect(await page.evaluate(() => window.otpToken!.transfer())).toEqual({ ...PAYEE, amount: 1_234_567 });
    await expectPanelShows(payload);
    expect(await page.textContent("#token-status")).toContain("0005-123 7654321 ﾔﾏﾀﾞ ﾀﾛｳ");
    expect(await page.textContent("#token-status")).toContain("1,234,567円");
    // In English as well: the screen's words and the token's line.
    await page.click("#lang-toggle");
    expect(await page.textContent("#txauth-title")).toBe("Transaction authentication");
    expect(await page.textContent("#flicker-slower")).toBe("Slower");
    expect(await page.textContent("#token-status")).toContain("payee 0005-123 7654321 ﾔﾏﾀﾞ ﾀﾛｳ, amount JPY 1,234,567");
    await page.click("#lang-toggle");
    expect(await page.textContent("#txauth-title")).toBe("取引認証");
    // The picture: the flicker caught with its clock bar and a data bar lit.
    await page.waitForFunction(() => {
      const canvas = document.getElementById("flicker") as HTMLCanvasElement;
      const context = canvas.getContext("2d")!;
      const lit = [0, 1, 2, 3, 4].map(
        (bar) => context.getImageData(((bar + 0.5) * canvas.width) / 5, canvas.height / 2, 1, 1).data[0] > 128,
      );
      return lit[0] && lit.slice(1).some(Boolean);
    });
    await screenshot("shown", "browser-transfer.png");

    // The holder agrees: a hold signs, the code goes into the bank's page, the bank accepts it once.
    const code = await holdToSign();
    expect(code).toMatch(/^[0-9]{8}$/);
    expect(await submitCode(code)).toMatch(/^振込を受け付けました。受付番号：WEB-/);
    expect(await page.getAttribute("#txauth-message", "data-kind")).toBe("ok");
    await screenshot("accepted");
    // The same code again: refused (the transfer is settled).
    expect(await submitCode(code)).toBe("振込できませんでした：この振込は処理済みです。");
    expect(await page.getAttribute("#txauth-message", "data-kind")).toBe("error");

    // A short press refuses: the token drops the transfer and shows no code.
    await page.click("#txauth-back");
    const second = await enterTransfer("20000");
    expect(await scan()).toMatchObject({ mode: "transfer" });
    expect(await page.evaluate(() => window.otpToken!.transfer())).toEqual({ ...PAYEE, amount: 20_000 });
    await page.focus("#token-button");
    await page.keyboard.down(" ");
    await page.keyboard.up(" ");
    await expect.poll(async () => (await tokenScreen()).mode, { timeout: 10_000 }).not.toBe("transfer");
    expect((await tokenScreen()).mode).not.toBe("transfer-code");
    expect(await page.evaluate(() => window.otpToken!.transfer())).toBeNull();
    expect(second.transactionId).not.toBe(created.transactionId);

    // Malware in the page: the customer sent 30,000 yen; after the bank made the transfer the malware
    // redraws the flicker (and the page's figure) with 3,000,000 yen to the same payee and nonce.
    await page.click("#txauth-back");
    const original = await enterTransfer("30000");
    const held = decodeTransfer(Uint8Array.from(Buffer.from(original.payload, "hex")));
    expect(held.amount).toBe(30_000);
    const tampered = encodeTransfer({ ...held, amount: 3_000_000 });
    await page.evaluate(
      ([frame]) => {
        document.getElementById("flicker")!.dataset.frame = frame;
        document.getElementById("txauth-amount")!.textContent = "3,000,000";
      },
      [frameText(tampered)],
    );
    // The token shows what the flicker carried: the changed amount (the customer would refuse here).
    expect(await scan()).toMatchObject({ mode: "transfer" });
    expect(await page.evaluate(() => window.otpToken!.transfer())).toEqual({ ...PAYEE, amount: 3_000_000 });
    await expectPanelShows(tampered);
    // Signed anyway, its code does not verify for the transfer the bank holds (30,000 yen).
    const tamperedCode = await holdToSign();
    expect(await submitCode(tamperedCode)).toMatch(/^振込できませんでした：取引認証番号が違います。あと\d+回/);
    await screenshot("tampered-refused");
    expect(pageProblems).toEqual([]);
  }, 900_000);
});
