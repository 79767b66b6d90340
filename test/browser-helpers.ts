// What the browser tests share: Debian's chromium driven headless by playwright-core, where their
// screenshots go, and what the page exposes of its token (window.otpToken, web/token-ui.ts).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";
import { requireTool } from "./helpers.js";

export const CHROMIUM = "/usr/bin/chromium";
export const hasChromium = existsSync(CHROMIUM);
/** Screenshots and page figures of the browser tests. */
export const OUT = join(process.cwd(), "test-output", "web");

/** Says why a browser test file is skipped here (or, under CI=true, fails it); call at the file's top level. */
export function sayIfSkipped(file: string): void {
  requireTool("chromium", hasChromium, `${file}: skipped: ${CHROMIUM} does not exist`);
}

export interface TokenScreen {
  mode: string;
  code: string | null;
  secondsLeft: number | null;
  /** On the transfer screens: which of the two shows (0 the payee, 1 the amount). */
  profile?: number;
}

declare global {
  interface Window {
    otpToken?: {
      screen(): TokenScreen;
      serial(): string;
      rtcSeconds(): number;
      profiles(): { serviceId: string | null; label: string }[];
      /** The transfer the token read through its sensors and shows (web/token-ui.ts), or null. */
      transfer(): { bankCode: string; branch: string; account: string; name?: string; amount: number } | null;
      scanning(): boolean;
      /** The panel's framebuffer bytes. */
      panel(): number[];
      ready: boolean;
    };
  }
}

/** Headless Chromium with its own profile in `profileDir` (a persistent context: Web Locks and storage as in a browser). */
export async function launchChromium(profileDir: string, viewport?: { width: number; height: number }): Promise<BrowserContext> {
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    ...(viewport ? { viewport } : {}),
  });
  // A busy 2-core CI box (several suites at once) can take longer than Playwright's default 30 s to
  // show a screen that a test waits for: every wait gets 90 s, each test's own timeout still bounds it.
  context.setDefaultTimeout(90_000);
  return context;
}
