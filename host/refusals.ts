// The bank's refusals in the holder's words, Japanese and English, for every front end (the page,
// the CLIs, the terminal simulator, the demo): one mapping from the bank's error code (and, for the
// refusals that count toward an issue's limit, the attempts left and the reason) to a Term.
// The bank's own sentences (host/bank/notices.ts) are used where the bank words a refusal itself, so a
// refusal reads the same in the bank's answer and on every front end. This file imports only
// host/terms.ts and host/bank/notices.ts (which imports only terms.ts), so the page's bundle can take it.
import { MAX_PROFILES, STATUS_FULL, STATUS_LOCKED, STATUS_LOW_BATTERY, STATUS_STORAGE } from "./abi.js";
import { NOTICES } from "./bank/notices.js";
import { attemptsText, GUIDANCE, issueVoidText, type Term, TERMS } from "./terms.js";

/** What a front end knows of a refusal: the bank's code and message, and what its answer carries. */
export interface BankRefusal {
  /**
   * The bank's error code (host/bank/errors.ts), the service's (host/bank/service.ts), or
   * `wrong-password`: the token refused the bank's answer at 登録 (wrongPasswordAtRegister).
   */
  code: string;
  /** The bank's own message (English): the fallback for codes this table does not word. */
  message: string;
  /** Attempts left before the issue is void, when the bank's answer says. */
  attemptsLeft?: number;
  /**
   * Why, when one code has several causes: "issue-void" or "token-locked" for `locked`;
   * "token-activation-locked" for `wrong-password` when the token now refuses to activate until erased.
   */
  reason?: string;
}

/**
 * The attempts left and whether the issue is void. The bank's answer carries them as fields; where
 * it does not (yet), they are read from its message ("3 attempts left", "this issue is now void",
 * "this token issue is void"), here and nowhere else.
 */
export function issueAttempts(refusal: BankRefusal): { attemptsLeft: number | undefined; void: boolean } {
  if (refusal.reason === "issue-void") return { attemptsLeft: 0, void: true };
  if (typeof refusal.attemptsLeft === "number") return { attemptsLeft: refusal.attemptsLeft, void: refusal.attemptsLeft <= 0 };
  const left = /\b(\d+) attempts? left\b/.exec(refusal.message);
  if (left) return { attemptsLeft: Number(left[1]), void: Number(left[1]) <= 0 };
  if (/\bissue is now void\b|^this token issue is void\b/.test(refusal.message)) return { attemptsLeft: 0, void: true };
  return { attemptsLeft: undefined, void: false };
}

const ISSUE_FORM: Record<string, Term> = {
  "mail-length": {
    ja: `${TERMS.mobileMail.ja}は${TERMS.mailHint.ja}で入力してください。`,
    en: `The ${TERMS.mobileMail.en} must be ${TERMS.mailHint.en}.`,
  },
  "mail-characters": {
    ja: `${TERMS.mobileMail.ja}は半角英数字記号で入力してください（空白・全角文字は使えません）。`,
    en: `The ${TERMS.mobileMail.en} must be half-width letters, digits and symbols (no spaces or full-width characters).`,
  },
  "mail-format": {
    ja: `${TERMS.mobileMail.ja}の形式が正しくありません（例：name@example.jp）。`,
    en: `The ${TERMS.mobileMail.en} must look like name@example.jp.`,
  },
  "mail-mismatch": { ja: `${TERMS.reenter.ja}した${TERMS.mobileMail.ja}が一致しません。`, en: `The two ${TERMS.mobileMail.en}es differ.` },
  "password-length": {
    ja: `${TERMS.activationPassword.ja}は${TERMS.passwordHint.ja}で入力してください。`,
    en: `The ${TERMS.activationPassword.en} must be ${TERMS.passwordHint.en}.`,
  },
  "password-characters": {
    ja: `${TERMS.activationPassword.ja}は半角英数字で入力してください（記号・全角文字は使えません）。`,
    en: `The ${TERMS.activationPassword.en} must be half-width letters and digits only.`,
  },
  "password-mismatch": {
    ja: `${TERMS.reenter.ja}した${TERMS.activationPassword.ja}が一致しません。`,
    en: `The two ${TERMS.activationPassword.en}s differ.`,
  },
};

const OTHER: Record<string, Term> = {
  "invalid-code": {
    ja: `${TERMS.oneTimePassword.ja}の桁数が違います。`,
    en: `The ${TERMS.oneTimePassword.en.toLowerCase()} has the wrong number of digits.`,
  },
  replayed: {
    ja: `この${TERMS.oneTimePassword.ja}は使用済みです。次のパスワードが表示されるまでお待ちください。`,
    en: `This ${TERMS.oneTimePassword.en.toLowerCase()} was already used: wait for the next one.`,
  },
  unknown: {
    ja: `該当する${TERMS.serviceId.ja}・${TERMS.userId.ja}がありません。`,
    en: `No such ${TERMS.serviceId.en} and ${TERMS.userId.en}.`,
  },
  expired: NOTICES.issueExpired(),
  "not-activated": NOTICES.notActivated(),
  malformed: { ja: "トークンからの要求が正しくありません。", en: "The token's request was malformed." },
  "wrong-confirmation": NOTICES.wrongConfirmation(),
  network: { ja: "サーバーに接続できません。", en: "Cannot reach the server." },
  "already-confirmed": NOTICES.alreadyConfirmed(),
  throttled: {
    ja: `続けて間違えたため、少し待ってからもう一度お試しください。`,
    en: "Too soon after a wrong code: wait a moment and try again.",
  },
  suspended: NOTICES.suspended(),
  revoked: NOTICES.revoked(),
  "token-expired": NOTICES.tokenExpired(),
};

/**
 * The token's own limit: after MAX_ACTIVATION_FAILURES refused answers it refuses to activate until
 * erased (assembly/device/activation.ts), whatever the bank's count for the issue.
 */
const TOKEN_ACTIVATION_LOCKED: Term = {
  ja: `トークンは登録の失敗が多すぎたため、登録できなくなりました。トークンを消去してからやり直してください。${GUIDANCE.realTokenLocked.ja}`,
  en: `The token now refuses to register after too many failures: erase the token, then start again. ${GUIDANCE.realTokenLocked.en}`,
};

/**
 * The token refused the bank's answer at 登録 (its confirmation did not verify: STATUS_BAD_TAG). With
 * CPace a wrong 利用開始パスワード shows only there, on the token: the bank answered at 送信 without
 * being able to tell. `attemptsLeft` is what the bank said with that answer: it counted the attempt,
 * and only the token's confirmation (which a refusing token never sends) would have taken it back.
 * `tokenLocked`: the token itself now refuses to activate until erased (its own count reached the limit).
 */
export function wrongPasswordAtRegister(attemptsLeft: number | undefined, tokenLocked = false): BankRefusal {
  return {
    code: "wrong-password",
    message: "wrong activation password: the token refused the bank's answer",
    ...(attemptsLeft === undefined ? {} : { attemptsLeft }),
    ...(tokenLocked ? { reason: "token-activation-locked" } : {}),
  };
}

/**
 * The holder's words when the token refused the bank's answer at 登録: the attempts left before the
 * issue is void (「あと N 回」), or that it is void and a new トークン発行 is needed; and, when the
 * token itself now refuses to activate, that it must be erased first.
 */
export function registerRefusalWords(attemptsLeft: number | undefined, tokenLocked = false): Term {
  return refusalWords(wrongPasswordAtRegister(attemptsLeft, tokenLocked), "register")!;
}

/** The token refuses to begin an activation (STATUS_LOCKED at 送信): erase it first. */
export function tokenActivationLockedWords(): Term {
  return TOKEN_ACTIVATION_LOCKED;
}

/** The token's own refusals a holder can meet at 送信 and 登録, in their words (every other is a fault of the host). */
const TOKEN_REFUSALS: Record<number, Term> = {
  [STATUS_LOCKED]: TOKEN_ACTIVATION_LOCKED,
  [STATUS_FULL]: {
    ja: `トークンのプロファイルがいっぱいです（${MAX_PROFILES}件）。不要なプロファイルを削除してからやり直してください。`,
    en: `The token holds ${MAX_PROFILES} profiles, its most: delete one it no longer needs, then start again.`,
  },
  [STATUS_LOW_BATTERY]: {
    ja: "トークンの電池残量が少ないため、登録できません。",
    en: "The token's battery is too low to store anything.",
  },
  [STATUS_STORAGE]: { ja: "トークンの記憶装置エラーのため、登録できません。", en: "The token's storage failed: nothing was stored." },
};

/**
 * A refusal of the token itself (a LinkError's `status` and `message`) in the holder's words: never
 * the firmware's English inside a Japanese sentence.
 */
export function tokenRefusalWords(status: number, message: string): Term {
  return TOKEN_REFUSALS[status] ?? { ja: `トークンが要求を受け付けませんでした（コード ${status}）。`, en: message };
}

const TOKEN_LOCKED: Term = NOTICES.locked();

/**
 * The holder's words for a refusal, or null when this table has none (then show the bank's message).
 * `during` says which step refused, for the two codes whose wording depends on it.
 */
export function refusalWords(refusal: BankRefusal, during: "issue" | "register" | "confirm" | "login" = "login"): Term | null {
  const { code } = refusal;
  if (Object.hasOwn(ISSUE_FORM, code)) return ISSUE_FORM[code];
  if (code === "wrong-password" || (code === "wrong-code" && during === "confirm")) {
    const { attemptsLeft } = issueAttempts(refusal);
    const what = code === "wrong-password" ? "password" : "code";
    const words =
      attemptsLeft !== undefined
        ? attemptsText(what, attemptsLeft)
        : what === "password"
          ? { ja: `${TERMS.activationPassword.ja}が違います。`, en: `Wrong ${TERMS.activationPassword.en}.` }
          : { ja: `${TERMS.oneTimePassword.ja}が違います。`, en: `Wrong ${TERMS.oneTimePassword.en.toLowerCase()}.` };
    if (refusal.reason !== "token-activation-locked") return words;
    return { ja: `${words.ja}${TOKEN_ACTIVATION_LOCKED.ja}`, en: `${words.en} ${TOKEN_ACTIVATION_LOCKED.en}` };
  }
  if (code === "issue-void") return issueVoidText();
  if (code === "wrong-code")
    return { ja: `${TERMS.oneTimePassword.ja}が違います。`, en: `Wrong ${TERMS.oneTimePassword.en.toLowerCase()}.` };
  if (code === "locked") {
    if (refusal.reason === "token-locked") return TOKEN_LOCKED;
    if (issueAttempts(refusal).void || during === "register" || during === "confirm") return issueVoidText();
    return TOKEN_LOCKED;
  }
  return Object.hasOwn(OTHER, code) ? OTHER[code] : null;
}

/** True when the refusal leaves the issue void: the holder must go back to トークン発行. */
export function issueIsVoid(refusal: BankRefusal, during: "register" | "confirm"): boolean {
  if (refusal.code === "issue-void") return true;
  if (refusal.code === "locked") return refusal.reason !== "token-locked" || during === "register";
  if (refusal.code === "expired") return true;
  return (refusal.code === "wrong-password" || refusal.code === "wrong-code") && issueAttempts(refusal).void;
}
