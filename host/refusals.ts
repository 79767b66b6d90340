// The bank's refusals in the holder's words, Japanese and English, for every front end (the page,
// the CLIs, the terminal simulator, the demo): one mapping from the bank's error code (and, for the
// refusals that count toward an issue's limit, the attempts left and the reason) to a Term.
// This file imports only host/terms.ts, so the page's bundle can take it.
import { attemptsText, issueVoidText, type Term, TERMS } from "./terms.js";

/** What a front end knows of a refusal: the bank's code and message, and what its answer carries. */
export interface BankRefusal {
  /**
   * The bank's error code (host/bank/errors.ts), the service's (host/bank/service.ts), or a token's
   * refusal made into one: `wrong-password` (at 登録, registerRefusal), `token-activation-locked`.
   */
  code: string;
  /** The bank's own message (English): the fallback for codes this table does not word. */
  message: string;
  /** Attempts left before the issue is void, when the bank's answer says. */
  attemptsLeft?: number;
  /** Why, when one code has several causes: "issue-void" or "token-locked" for `locked`. */
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

/**
 * The token refused the bank's answer at 登録: with CPace only the token can find a wrong
 * 利用開始パスワード (the bank's confirmation in message 2 does not verify). Both sides counted this
 * attempt: the bank at 送信 (its attempts left came with message 2) and the token at 登録 (its own,
 * in its refusal). The holder is told the fewer of the two; when the token's own limit is reached
 * first, the token refuses activation until it is erased ("token-activation-locked"). Pass the
 * LinkError's `attemptsLeft` as `tokenAttemptsLeft`.
 */
export function registerRefusal(bankAttemptsLeft: number | undefined, tokenAttemptsLeft: number | undefined): BankRefusal {
  if (tokenAttemptsLeft === 0 && !(bankAttemptsLeft === 0)) {
    return { code: "token-activation-locked", message: "the token refused the bank's answer and its own limit of failed registrations is reached: erase the token to start again" };
  }
  const known = [bankAttemptsLeft, tokenAttemptsLeft].filter((n): n is number => typeof n === "number");
  return {
    code: "wrong-password",
    message: "wrong activation password: the token could not verify the bank's answer",
    ...(known.length > 0 ? { attemptsLeft: Math.min(...known) } : {}),
  };
}

/**
 * The token refused 送信 itself (ACTIVATE_BEGIN): its code from the link (host/token/link.ts LinkError),
 * as a refusal; "locked" is the token's own limit of failed registrations (erase it to start again).
 * Null for a refusal the holder cannot act on in words (a malformed frame: say the link's message).
 */
export function sendRefusal(linkCode: string, message: string): BankRefusal | null {
  return linkCode === "locked" ? { code: "token-activation-locked", message } : null;
}

const ISSUE_FORM: Record<string, Term> = {
  "mail-length": { ja: `${TERMS.mobileMail.ja}は${TERMS.mailHint.ja}で入力してください。`, en: `The ${TERMS.mobileMail.en} must be ${TERMS.mailHint.en}.` },
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
  "password-mismatch": { ja: `${TERMS.reenter.ja}した${TERMS.activationPassword.ja}が一致しません。`, en: `The two ${TERMS.activationPassword.en}s differ.` },
};

const OTHER: Record<string, Term> = {
  "invalid-code": { ja: `${TERMS.oneTimePassword.ja}の桁数が違います。`, en: `The ${TERMS.oneTimePassword.en.toLowerCase()} has the wrong number of digits.` },
  replayed: {
    ja: `この${TERMS.oneTimePassword.ja}は使用済みです。次のパスワードが表示されるまでお待ちください。`,
    en: `This ${TERMS.oneTimePassword.en.toLowerCase()} was already used: wait for the next one.`,
  },
  unknown: { ja: `該当する${TERMS.serviceId.ja}・${TERMS.userId.ja}がありません。`, en: `No such ${TERMS.serviceId.en} and ${TERMS.userId.en}.` },
  expired: {
    ja: `このトークン発行は有効期限が切れました。もう一度「${TERMS.tokenIssue.ja}」からやり直してください。`,
    en: `This token issue has expired: issue a new token ("${TERMS.tokenIssue.en}") and start again.`,
  },
  "not-activated": {
    ja: "トークンの登録がまだ完了していません。トークンで「送信」「登録」を行ってください。",
    en: "The token has not been registered yet: press \"Send\" and \"Register\" on the token first.",
  },
  malformed: { ja: "トークンからの要求が正しくありません。", en: "The token's request was malformed." },
  "wrong-confirmation": {
    ja: `トークンからの確認が一致しません（通信の途中で壊れた可能性があります）。トークンで「${TERMS.send.ja}」からやり直してください。`,
    en: `The token's confirmation did not match (it may have been damaged on the way): start again from "${TERMS.send.en}" on the token.`,
  },
  "token-activation-locked": {
    ja: `トークンの${TERMS.register.ja}に続けて失敗したため、このトークンは${TERMS.register.ja}できません。トークンを消去してから、もう一度やり直してください。`,
    en: `The token refuses to register after too many failures: erase the token, then start again.`,
  },
  network: { ja: "サーバーに接続できません。", en: "Cannot reach the server." },
  "already-confirmed": {
    ja: `この${TERMS.tokenIssue.ja}は${TERMS.confirmButton.ja}が完了しています。ログインしてください。`,
    en: "This token issue is already confirmed: the token is active, log in with it.",
  },
  throttled: {
    ja: `続けて間違えたため、少し待ってからもう一度お試しください。`,
    en: "Too soon after a wrong code: wait a moment and try again.",
  },
  suspended: { ja: "このトークンは利用停止中です。銀行にご連絡ください。", en: "This token is suspended: contact the bank." },
  revoked: { ja: `このトークンは失効しています。もう一度${TERMS.tokenIssue.ja}を行ってください。`, en: `This token is revoked: issue a new token ("${TERMS.tokenIssue.en}").` },
  "token-expired": { ja: `このトークンは有効期限を過ぎました。もう一度${TERMS.tokenIssue.ja}を行ってください。`, en: `This token has expired: issue a new token ("${TERMS.tokenIssue.en}").` },
};

const TOKEN_LOCKED: Term = {
  ja: "トークンがロックされています。銀行（管理者）にロック解除を依頼してください。",
  en: "The token is locked after too many wrong codes: ask the bank (administrator) to unlock it.",
};

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
    if (attemptsLeft !== undefined) return attemptsText(what, attemptsLeft);
    return what === "password"
      ? { ja: `${TERMS.activationPassword.ja}が違います。`, en: `Wrong ${TERMS.activationPassword.en}.` }
      : { ja: `${TERMS.oneTimePassword.ja}が違います。`, en: `Wrong ${TERMS.oneTimePassword.en.toLowerCase()}.` };
  }
  if (code === "issue-void") return issueVoidText();
  if (code === "wrong-code") return { ja: `${TERMS.oneTimePassword.ja}が違います。`, en: `Wrong ${TERMS.oneTimePassword.en.toLowerCase()}.` };
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
