// The browser simulator's entry point (bundled to dist/web/app.js by scripts/build-web.js): the
// language switch, the bank's screens and the token.
import { startBank } from "./bank-ui.js";
import { language, setLanguage, type Lang } from "./i18n.js";
import { startToken } from "./token-ui.js";

const LANG_KEY = "otp-token-lang";

function start(): void {
  const stored = localStorage.getItem(LANG_KEY);
  setLanguage(stored === "en" ? "en" : "ja");
  document.getElementById("lang-toggle")!.addEventListener("click", () => {
    const next: Lang = language() === "ja" ? "en" : "ja";
    localStorage.setItem(LANG_KEY, next);
    setLanguage(next);
  });
  startBank();
  startToken().catch((error: unknown) => {
    const status = document.getElementById("token-status")!;
    status.removeAttribute("data-i18n");
    status.textContent = `The token could not start: ${(error as Error).message}`;
  });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
