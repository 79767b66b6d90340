// The browser simulator as a first-time holder meets it, in headless Chromium (Debian's chromium via
// playwright-core): two tabs on one token, a reload and a visit to the outbox on the 認証確認 screen,
// no silent truncation, a double click, where focus goes, the focus ring's contrast, and the page at
// 375 px wide. Screenshots go to test-output/web/; UPDATE_DOCS_SCREENSHOTS=1 also refreshes
// docs/browser-*.png from them.
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
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
import { hasChromium, launchChromium, OUT, sayIfSkipped } from "./browser-helpers.js";

sayIfSkipped("web-ux");

const DOCS = join(process.cwd(), "docs");
const PASSWORD = "Abc12345";

let dir: string;
let store: BankStore;
let server: FastifyInstance;
let base: string;
let context: BrowserContext;
const outbox = () => join(dir, "outbox");

async function shot(page: Page, name: string, docs?: string): Promise<void> {
  const path = join(OUT, `ux-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  // The README's pictures are refreshed on request only, so a test run leaves the work tree clean.
  if (docs && process.env.UPDATE_DOCS_SCREENSHOTS === "1") copyFileSync(path, join(DOCS, docs));
}

async function newPage(width = 1280, height = 900): Promise<Page> {
  const page = await context.newPage();
  await page.setViewportSize({ width, height });
  await page.goto(base);
  await page.waitForFunction(() => document.getElementById("bank-clock")?.textContent !== "");
  return page;
}

const ready = (page: Page) => page.waitForFunction(() => window.otpToken?.ready === true);

async function issue(page: Page, mail: string): Promise<{ serviceId: string; userId: string }> {
  await page.click('nav [data-go="issue"]');
  await page.fill("#issue-mail", mail);
  await page.fill("#issue-mail2", mail);
  await page.fill("#issue-password", PASSWORD);
  await page.fill("#issue-password2", PASSWORD);
  await page.click("#issue-submit");
  await page.waitForSelector("#screen-confirm:not([hidden])");
  return {
    serviceId: (await page.textContent("#confirm-service-id"))!.trim(),
    userId: (await page.textContent("#confirm-user-id"))!.trim(),
  };
}

async function register(page: Page, ids: { serviceId: string; userId: string }, password = PASSWORD): Promise<void> {
  await page.fill("#reg-service-id", ids.serviceId);
  await page.fill("#reg-user-id", ids.userId);
  await page.fill("#reg-password", password);
  await page.check("#reg-consent");
  await page.click("#reg-send");
}

/** WCAG relative luminance contrast of two CSS rgb() colours. */
function contrast(a: string, b: string): number {
  const luminance = (css: string) => {
    const [r, g, bl] = css
      .match(/[\d.]+/g)!
      .slice(0, 3)
      .map(Number)
      .map((c) => {
        const v = c / 255;
        return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
      });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

describe.skipIf(!hasChromium)("browser simulator: a first use without a stumble", () => {
  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), "otp-web-ux-"));
    store = await openStore(join(dir, "bank.sqlite"), { create: true, thread: "worker" });
    const bank = await Bank.open(store, MasterKey.fromBytes(randomBytes(32)), { outboxDir: outbox() });
    server = await createWebServer({ bank, outboxDir: outbox(), log: () => {} });
    base = await listen(server, 0);
    context = await launchChromium(join(dir, "profile"));
  }, 30_000);

  afterAll(async () => {
    await context?.close();
    await server?.close();
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("shows the manual's screens: the date and time, 文字サイズ 小 中 大, the hints, the mail-filter note", async () => {
    const page = await newPage();
    expect(await page.textContent("#bank-clock")).toMatch(/^\d{4}年\d{2}月\d{2}日 \d{2}時\d{2}分\d{2}秒$/);
    await page.click('nav [data-go="issue"]');
    const text = (await page.textContent("#screen-issue"))!;
    for (const words of [
      "携帯電話メールアドレスと利用開始パスワードを入力の上、「トークン発行」ボタンを押してください。",
      "※携帯電話メールアドレスを2回入力してください。",
      "半角英数字記号4文字以上64文字以内",
      "※利用開始パスワードを2回入力してください。",
      "半角英数字4桁以上8桁以内",
      "送信メールフィルタ等で送信メール対策をしている方は",
    ]) {
      expect(text).toContain(words);
    }
    expect(await page.textContent("#issue-submit")).toBe("トークン発行");
    // The text-size switch scales the bank's screens.
    const size = () => page.$eval("#screen-issue p", (p) => parseFloat(getComputedStyle(p).fontSize));
    const medium = await size();
    await page.click('[data-size="large"]');
    expect(await size()).toBeGreaterThan(medium);
    expect(await page.getAttribute('[data-size="large"]', "aria-pressed")).toBe("true");
    await page.click('[data-size="small"]');
    expect(await size()).toBeLessThan(medium);
    await page.click('[data-size="medium"]');
    await shot(page, "issue-screen", "browser-issue.png");
    await page.close();
  }, 60_000);

  it("two tabs never lose the token's flash: the second tab says the token is in use and writes nothing", async () => {
    const first = await newPage();
    await ready(first);
    const ids = await issue(first, "two.tabs@example.jp");
    await register(first, ids);
    await first.waitForSelector("#reg-register:not([disabled])");
    await first.click("#reg-register");
    await expect.poll(async () => (await first.evaluate(() => window.otpToken!.screen())).mode).toBe("otp");
    const serial = await first.evaluate(() => window.otpToken!.serial());
    // A second tab: told, and its token controls are off.
    const second = await newPage();
    await second.waitForSelector("#token-owner:not([hidden])");
    expect(await second.textContent("#token-owner")).toContain("別のタブで使用中");
    expect(await second.isDisabled("#token-button")).toBe(true);
    expect(await second.isDisabled("#reg-send")).toBe(true);
    expect(await second.evaluate(() => window.otpToken)).toBeUndefined();
    await shot(second, "second-tab");
    // The second tab waits; the first, with the registered token, goes on writing its flash.
    await first.waitForTimeout(6000);
    await first.close();
    // Once the owner is gone, the second tab takes the token over: the registered one, with its profile.
    await second.waitForSelector("#token-owner[hidden]", { state: "attached" });
    await ready(second);
    expect(await second.evaluate(() => window.otpToken!.serial())).toBe(serial);
    await second.focus("#token-button");
    await second.keyboard.down(" ");
    await second.keyboard.up(" ");
    expect((await second.evaluate(() => window.otpToken!.screen())).mode).toBe("otp");
    await second.close();
  }, 90_000);

  it("keeps the 認証確認 screen across a reload and a visit to the outbox, with a way back; focus goes to the code box after 登録", async () => {
    const page = await newPage();
    await ready(page);
    await page.click("#token-reset");
    const ids = await issue(page, "reload@example.jp");
    expect(await page.textContent("#confirm-title")).toBe("ワンタイムパスワード認証確認");
    expect(await page.textContent("#confirm-submit")).toBe("認証確認");
    expect(await page.textContent("#confirm-back")).toBe("戻る");
    await page.reload();
    await ready(page);
    expect(await page.isVisible("#screen-confirm")).toBe(true);
    expect((await page.textContent("#confirm-user-id"))!.trim()).toBe(ids.userId);
    // To the outbox and back by the way the page offers.
    await page.click('nav [data-go="outbox"]');
    await expect.poll(() => page.textContent("#outbox-mail")).toContain(ids.serviceId);
    expect(await page.isVisible("#resume")).toBe(true);
    await shot(page, "outbox-with-way-back");
    await page.click("#resume-confirm");
    expect(await page.isVisible("#screen-confirm")).toBe(true);
    expect((await page.textContent("#confirm-service-id"))!.trim()).toBe(ids.serviceId);
    // A wrong password: the bank answers 送信 (CPace: it cannot tell); the token refuses the answer at
    // 登録, which says the attempts left, and the token is back from its activating screen.
    await register(page, ids, "Wrong999");
    await page.waitForSelector("#reg-register:not([disabled])");
    await page.click("#reg-register");
    await expect.poll(() => page.textContent("#reg-message")).toContain("あと 4 回");
    expect((await page.evaluate(() => window.otpToken!.screen())).mode).not.toBe("activating");
    // 送信 -> 登録; after 登録 the next thing to do is the code box.
    await register(page, ids);
    await page.waitForSelector("#reg-register:not([disabled])");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("reg-register");
    await page.click("#reg-register");
    // Once the bank took the token's confirmation (message 3).
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe("confirm-code");
    // The focus ring: 3:1 or more against the pane behind it.
    await page.keyboard.press("Shift+Tab");
    await page.keyboard.press("Tab");
    const ring = await page.evaluate(() => {
      const element = document.activeElement as HTMLElement;
      const style = getComputedStyle(element);
      return {
        id: element.id,
        outline: style.outlineColor,
        width: parseFloat(style.outlineWidth),
        background: getComputedStyle(document.getElementById("bank")!).backgroundColor,
      };
    });
    expect(ring.id).toBe("confirm-code");
    expect(ring.width).toBeGreaterThanOrEqual(2);
    expect(contrast(ring.outline, ring.background)).toBeGreaterThanOrEqual(3);
    // On the token's dark body too.
    await page.focus("#token-button");
    await page.keyboard.press("Shift+Tab");
    await page.keyboard.press("Tab");
    const dark = await page.evaluate(() => {
      const style = getComputedStyle(document.activeElement as HTMLElement);
      return { outline: style.outlineColor, background: getComputedStyle(document.querySelector(".device")!).backgroundColor };
    });
    expect(contrast(dark.outline, dark.background)).toBeGreaterThanOrEqual(3);
    // Full-width digits typed into the code box are the digits they are.
    const code = (await page.evaluate(() => window.otpToken!.screen())).code!;
    await page.fill(
      "#confirm-code",
      code.replace(/[0-9]/g, (digit) => String.fromCharCode(0xff10 + Number(digit))),
    );
    await shot(page, "confirm-full-width", "browser-confirm.png");
    await page.click("#confirm-submit");
    await page.waitForSelector("#screen-login:not([hidden])");
    expect(await page.isVisible("#resume")).toBe(false);
    await shot(page, "login-after-confirm", "browser-login.png");
    await page.close();
  }, 90_000);

  it("a token locked by 5 refused answers says so in Japanese only, with the help desk; 消去 asks for the hold and erases", async () => {
    const page = await newPage();
    try {
      await lockedThenErased(page);
    } finally {
      await page.close();
    }
  }, 120_000);

  async function lockedThenErased(page: Page): Promise<void> {
    await ready(page);
    await page.click("#token-reset");
    const ids = await issue(page, "locked@example.jp");
    for (let attempt = 0; attempt < 5; attempt++) {
      await register(page, ids, "Wrong999");
      await page.waitForSelector("#reg-register:not([disabled])");
      await page.click("#reg-register");
      await expect.poll(() => page.textContent("#reg-message")).toContain("利用開始パスワードが違います");
    }
    // The token's own refusal at 送信: Japanese words, no English inside them.
    await register(page, ids);
    await expect.poll(() => page.textContent("#reg-message")).toContain("トークンが要求を拒否しました：");
    expect(await page.textContent("#reg-message")).toContain("トークンを消去してからやり直してください");
    const refused = (await page.textContent("#reg-message"))!;
    expect(refused).toContain("実際のトークンの場合は、お取引店またはヘルプデスクにお問い合わせください。");
    expect(refused).not.toMatch(/[A-Za-z]{2,}/);
    // 消去: the token asks for the hold; button A held (2 s of the token's time, run 10x) erases it.
    expect(await page.textContent("#token-erase")).toBe("トークンを消去");
    await page.click("#token-erase");
    await expect.poll(() => page.evaluate(() => window.otpToken!.screen().mode)).toBe("erase-confirm");
    expect(await page.textContent("#reg-message")).toContain("10秒以内にボタンAを長押しすると");
    await page.check("#speed-10");
    await page.locator("#token-button").scrollIntoViewIfNeeded();
    const button = (await page.locator("#token-button").boundingBox())!;
    await page.mouse.move(button.x + button.width / 2, button.y + button.height / 2);
    await page.mouse.down();
    await expect.poll(() => page.evaluate(() => window.otpToken!.screen().mode), { timeout: 10_000 }).toBe("not-set-up");
    await page.mouse.up();
    await page.check("#speed-1");
  }

  it("refuses a 65-character address and a 9-character password with the rule instead of cutting them", async () => {
    const page = await newPage();
    await page.click('nav [data-go="issue"]');
    const long = `${"a".repeat(52)}@example.jp`.padStart(65, "b");
    expect(long).toHaveLength(65);
    for (const id of ["#issue-mail", "#issue-mail2"]) await page.fill(id, long);
    for (const id of ["#issue-password", "#issue-password2"]) await page.fill(id, "Abcd12345");
    // Nothing was cut: the boxes hold what was typed.
    expect(await page.inputValue("#issue-mail")).toHaveLength(65);
    expect(await page.inputValue("#issue-password")).toHaveLength(9);
    await page.click("#issue-submit");
    expect(await page.textContent("#issue-mail-error")).toBe(
      "携帯電話メールアドレスは半角英数字記号4文字以上64文字以内で入力してください。",
    );
    expect(await page.textContent("#issue-password-error")).toBe("利用開始パスワードは半角英数字4桁以上8桁以内で入力してください。");
    // One error per field: the re-entries are not also flagged while the first box is wrong.
    expect(await page.textContent("#issue-mail2-error")).toBe("");
    expect(await page.textContent("#issue-password2-error")).toBe("");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("issue-mail");
    expect(await page.isVisible("#screen-issue")).toBe(true);
    await shot(page, "issue-too-long");
    await page.close();
  }, 60_000);

  it("a double click on トークン発行 issues once and sends one mail", async () => {
    const page = await newPage();
    const mails = () => (existsSync(outbox()) ? readdirSync(outbox()).filter((name) => name.endsWith(".eml")).length : 0);
    const before = mails();
    let issues = 0;
    page.on("request", (request) => {
      if (request.url().endsWith("/v1/issues")) issues++;
    });
    await page.click('nav [data-go="issue"]');
    for (const id of ["#issue-mail", "#issue-mail2"]) await page.fill(id, "double@example.jp");
    for (const id of ["#issue-password", "#issue-password2"]) await page.fill(id, PASSWORD);
    await page.dblclick("#issue-submit");
    await page.waitForSelector("#screen-confirm:not([hidden])");
    await page.waitForTimeout(500);
    expect(issues).toBe(1);
    expect(mails()).toBe(before + 1);
    await page.close();
  }, 60_000);

  it("fits 375 px: no sideways scrolling, every target at least 44 x 44 px, the status line is not a live region", async () => {
    const page = await newPage(375, 812);
    await ready(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    for (const screen of ["login", "issue"]) {
      await page.click(`nav [data-go="${screen}"]`);
      const small = await page.evaluate(() => {
        const targets = [...document.querySelectorAll<HTMLElement>("button, input, select, a[href]")].filter(
          (element) => element.offsetParent !== null,
        );
        return targets.flatMap((element) => {
          // A check box or radio button is reached through its label: that is its target.
          const target = (element as HTMLInputElement).labels?.[0]?.contains(element) ? (element as HTMLInputElement).labels![0] : element;
          const box = target.getBoundingClientRect();
          return box.width >= 44 && box.height >= 44
            ? []
            : [`${element.id || element.textContent} ${Math.round(box.width)}x${Math.round(box.height)}`];
        });
      });
      expect(small, screen).toEqual([]);
      await shot(page, `375-${screen}`, screen === "issue" ? "browser-375.png" : undefined);
    }
    expect(await page.getAttribute("#token-status", "aria-live")).toBeNull();
    // The dark panel says a press shows the code, in Japanese on the Japanese page.
    await page.click("#token-reset");
    await page.waitForTimeout(200);
    expect(await page.textContent("#token-status")).toBe("表示は消えています（ボタンAを押すとワンタイムパスワードが表示されます）");
    await page.click("#lang-toggle");
    expect(await page.textContent("#token-status")).toBe("display off (press button A to show the one-time password)");
    await page.click("#lang-toggle");
    await page.close();
  }, 60_000);
});
