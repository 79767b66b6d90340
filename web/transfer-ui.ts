// 振込 and its 取引認証 (issue 23, docs/transaction-signing.md), for the logged-in customer whose token
// is set up: the payee (金融機関コード, 支店コード, 口座番号, 受取人名 in half-width kana, optional) and
// the amount go to the bank (POST /v1/transactions, through the page's own API path as the login
// does); the bank answers the frame, which the 取引認証 screen draws as a flicker code (web/flicker.ts)
// with slower/faster buttons and as text for manual entry; the customer holds the token to it, checks
// what the token shows, holds button A, and types the token's 取引認証番号 here (POST
// /v1/transactions/{id}/verify). The page keeps nothing of a transfer beyond this screen.
import type { Term } from "../host/terms.js";
import { TRANSFER } from "../host/terms.js";
import { refusalWords } from "../host/refusals.js";
import { bank, type LoggedIn } from "./api.js";
import { refusalOf, typedCode } from "./checks.js";
import { Flicker } from "./flicker.js";
import { clear, say, sayWords } from "./i18n.js";

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const value = (id: string) => $<HTMLInputElement>(id).value;

/** 受取人名 as the bank takes it (host/transaction.ts): half-width katakana, A-Z, 0-9, space ( ) - ., up to 30. */
const PAYEE_NAME = /^[\uff61-\uff9f0-9A-Z ()\-.]{0,30}$/;
const TRANSFER_CODE = /^[0-9]{8}$/;

interface Pending {
  transactionId: string;
  payee: { bankCode: string; branch: string; account: string; name?: string };
  amount: number;
}

export interface TransferDeps {
  show(name: "transfer" | "txauth"): void;
  loggedIn(): LoggedIn | null;
}

/** The transfer refused, in the holder's words (the bank's own sentence where it sent one). */
function transferRefusal(error: unknown): Term {
  const refusal = refusalOf(error);
  if (refusal.code === "wrong-code") {
    const left = refusal.attemptsLeft;
    if (left === undefined) return TRANSFER.wrongCode;
    if (left === 0) return refusalWords({ code: "locked", message: refusal.message }, "login") ?? TRANSFER.wrongCode;
    return {
      ja: `${TRANSFER.wrongCode.ja}あと${left}回間違えるとトークンがロックされます。`,
      en: `${TRANSFER.wrongCode.en} ${left} more wrong code${left === 1 ? "" : "s"} and the token locks.`,
    };
  }
  if (refusal.messageJa && ["replayed", "expired", "throttled", "unknown", "invalid-code"].includes(refusal.code)) {
    return { ja: refusal.messageJa, en: refusal.message };
  }
  return refusalWords(refusal, "login") ?? { ja: refusal.messageJa ?? `振込できませんでした（${refusal.code}）。`, en: refusal.message };
}

export function startTransfer(deps: TransferDeps): { showForm(): void } {
  const flicker = new Flicker($<HTMLCanvasElement>("flicker"));
  let pending: Pending | null = null;

  const showRate = () => {
    $<HTMLOutputElement>("flicker-rate").value = `${flicker.levelsPerSecond}/s`;
  };

  function showForm(): void {
    flicker.stop();
    pending = null;
    const message = $("transfer-message");
    if (deps.loggedIn()?.userId) clear(message);
    else say(message, "transfer.noToken", "", "error");
    deps.show("transfer");
  }

  /** Each field's rule, checked here for the holder (the bank checks them again). */
  function formProblem(): [string, Parameters<typeof say>[1]] | null {
    if (!/^[0-9]{4}$/.test(typedCode(value("transfer-bank")))) return ["transfer-bank", "check.bankCode"];
    if (!/^[0-9]{3}$/.test(typedCode(value("transfer-branch")))) return ["transfer-branch", "check.branch"];
    if (!/^[0-9]{7}$/.test(typedCode(value("transfer-account")))) return ["transfer-account", "check.account"];
    if (!PAYEE_NAME.test(value("transfer-name").trim())) return ["transfer-name", "check.name"];
    const amount = typedCode(value("transfer-amount")).replace(/[,，]/g, "");
    if (!/^[1-9][0-9]{0,11}$/.test(amount)) return ["transfer-amount", "check.amount"];
    return null;
  }

  async function onCreate(): Promise<void> {
    const message = $("transfer-message");
    clear(message);
    const login = deps.loggedIn();
    if (!login?.userId) return say(message, "transfer.noToken", "", "error");
    const problem = formProblem();
    if (problem) {
      say(message, problem[1], "", "error");
      $(problem[0]).focus();
      return;
    }
    const name = value("transfer-name").trim();
    const payee = {
      bankCode: typedCode(value("transfer-bank")),
      branch: typedCode(value("transfer-branch")),
      account: typedCode(value("transfer-account")),
      ...(name ? { name } : {}),
    };
    const amount = Number(typedCode(value("transfer-amount")).replace(/[,，]/g, ""));
    let created: Awaited<ReturnType<typeof bank.createTransaction>>;
    try {
      // The page stands in for the bank's transfer backend: its reference names the transfer in the audit trail.
      const reference = `WEB-${Date.now().toString(36).toUpperCase()}`;
      created = await bank.createTransaction({ userId: login.userId, payee, amount, reference });
    } catch (error) {
      sayWords(message, "transfer.refused", transferRefusal(error));
      return;
    }
    pending = { transactionId: created.transactionId, payee, amount };
    $("txauth-payee").textContent = `${payee.bankCode}-${payee.branch} ${payee.account}${name ? ` ${name}` : ""}`;
    $("txauth-amount").textContent = amount.toLocaleString("ja-JP");
    $("txauth-frame").textContent = created.frame;
    $<HTMLInputElement>("txauth-code").value = "";
    clear($("txauth-message"));
    deps.show("txauth");
    flicker.show(created.frame);
    showRate();
  }

  async function onVerify(): Promise<void> {
    const message = $("txauth-message");
    clear(message);
    if (!pending) return;
    const code = typedCode(value("txauth-code"));
    if (!TRANSFER_CODE.test(code)) return say(message, "check.transferCode", "", "error");
    try {
      const { reference } = await bank.verifyTransaction(pending.transactionId, code);
      // Signed and accepted: the flicker has done its work (typing the code again is refused as settled).
      flicker.stop();
      say(message, "txauth.accepted", reference, "ok");
    } catch (error) {
      sayWords(message, "txauth.refused", transferRefusal(error));
    }
  }

  for (const [form, button, run] of [
    ["transfer-form", "transfer-submit", onCreate],
    ["txauth-form", "txauth-submit", onVerify],
  ] as const) {
    $<HTMLFormElement>(form).addEventListener("submit", (event) => {
      event.preventDefault();
      const submit = $<HTMLButtonElement>(button);
      if (submit.disabled) return;
      submit.disabled = true;
      void run().finally(() => {
        submit.disabled = false;
      });
    });
  }
  $("txauth-back").addEventListener("click", showForm);
  $("flicker-slower").addEventListener("click", () => {
    flicker.changeSpeed(-1);
    showRate();
  });
  $("flicker-faster").addEventListener("click", () => {
    flicker.changeSpeed(1);
    showRate();
  });
  return { showForm };
}
