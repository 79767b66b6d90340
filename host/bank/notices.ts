// What the bank tells the customer when it refuses, in English and in Japanese, built from the
// manual's terms (host/terms.ts; the attempts-left and void-issue sentences are terms.ts's own, the
// ones every front end shows) so every front end that shows the bank's own sentence shows the
// manual's words. Front ends that word a refusal themselves use the stable code and the numbers
// (attemptsLeft, retryAfterSeconds) the bank gives beside it. Imports only host/terms.ts, so the
// browser page can bundle it.
import { attemptsText, issueVoidText, LOGIN, TERMS } from "../terms.js";

export interface Notice {
  en: string;
  ja: string;
}

const T = TERMS;
const L = LOGIN;
const times = (n: number) => `${n} attempt${n === 1 ? "" : "s"}`;

export const NOTICES = {
  wrongFirstCode: (left: number): Notice => attemptsText("code", left),
  voidAfterCodes: (): Notice => attemptsText("code", 0),
  issueVoid: (reason: string | null): Notice =>
    reason === "superseded" || reason === "withdrawn"
      ? {
          en: "this token issue was replaced by a newer one: use the Service ID and User ID of the newest issue, or issue a new token",
          ja: `この${T.tokenIssue.ja}は、新しい${T.tokenIssue.ja}により無効になりました。最新の${T.serviceId.ja}・${T.userId.ja}をお使いください。`,
        }
      : reason === "protocol-v1"
        ? {
            en: "this token issue was made for the previous activation protocol and cannot be activated now: issue a new token",
            ja: `この${T.tokenIssue.ja}は以前の登録方式のもので、登録できません。もう一度「${T.tokenIssue.ja}」からやり直してください。`,
          }
        : issueVoidText(),
  wrongConfirmation: (): Notice => ({
    en: `the token's registration confirmation does not match this activation (damaged on the way, or not from the token): press "${T.send.en}" on the token again`,
    ja: `トークンからの${T.register.ja}の確認が一致しません（通信の途中で壊れた可能性があります）。トークンでもう一度「${T.send.ja}」からやり直してください。`,
  }),
  issueExpired: (): Notice => ({
    en: "this token issue has expired: issue a new token",
    ja: `この${T.tokenIssue.ja}は有効期限を過ぎました。もう一度${T.tokenIssue.ja}を行ってください。`,
  }),
  noIssue: (): Notice => ({
    en: "no token issue has this Service ID and User ID: check them, or issue a new token",
    ja: `この${T.serviceId.ja}・${T.userId.ja}の${T.tokenIssue.ja}はありません。入力内容をご確認ください。`,
  }),
  notActivated: (): Notice => ({
    en: "no token has been registered for this issue yet: register the token first (Service ID, User ID, activation password, send, register), then type its code",
    ja: `トークンの登録がまだ完了していません。トークンに${T.serviceId.ja}・${T.userId.ja}・${T.activationPassword.ja}を入力し、「${T.send.ja}」「${T.register.ja}」を行ってください。`,
  }),
  alreadyConfirmed: (): Notice => ({
    en: "this token issue is already confirmed: the token is active, log in with it",
    ja: `この${T.tokenIssue.ja}は${T.confirmButton.ja}が完了しています。ログインしてください。`,
  }),
  wrongLoginCode: (left: number): Notice => ({
    en: `wrong code (${times(left)} left before the token locks)`,
    ja: `${T.oneTimePassword.ja}が違います。あと ${left} 回間違えるとトークンがロックされます。`,
  }),
  replayedLoginCode: (left: number): Notice => ({
    en: `this code (or a later one) was already used: wait for the next code (${times(left)} left before the token locks)`,
    ja: `この${T.oneTimePassword.ja}は使用済みです。次の${T.oneTimePassword.ja}をお待ちください。あと ${left} 回間違えるとトークンがロックされます。`,
  }),
  nowLocked: (): Notice => ({
    en: "too many wrong codes: the token is now locked, ask the bank to unlock it",
    ja: `${T.oneTimePassword.ja}を続けて間違えたため、トークンがロックされました。銀行にロック解除をご依頼ください。`,
  }),
  locked: (): Notice => ({
    en: "this token is locked after too many wrong codes: ask the bank to unlock it",
    ja: "トークンがロックされています。銀行にロック解除をご依頼ください。",
  }),
  throttled: (seconds: number): Notice => ({
    en: `too soon after a wrong code: try again in ${seconds} s`,
    ja: `続けて間違えたため、${seconds} 秒後にもう一度お試しください。`,
  }),
  suspended: (): Notice => ({
    en: "this token is suspended (reported missing): ask the bank to resume it",
    ja: "このトークンは利用停止中です。銀行にご連絡ください。",
  }),
  revoked: (): Notice => ({
    en: "this token is revoked: issue a new token",
    ja: `このトークンは失効しています。もう一度${T.tokenIssue.ja}を行ってください。`,
  }),
  tokenExpired: (): Notice => ({
    en: "this token is past its expiry date: issue a new token",
    ja: `このトークンは有効期限を過ぎました。もう一度${T.tokenIssue.ja}を行ってください。`,
  }),
  noToken: (): Notice => ({
    en: "no token has this User ID (a confirmed re-set-up replaces the old User ID): check it, or set a token up first",
    ja: `この${T.userId.ja}のトークンはありません。入力内容をご確認ください。`,
  }),
  loginFailed: (left: number | null): Notice => ({
    en: `wrong login ID or login password${left === null ? "" : ` (${times(left)} left before the login locks)`}`,
    ja: `${L.loginId.ja}または${L.loginPassword.ja}が違います。${left === null ? "" : `あと ${left} 回間違えるとログインがロックされます。`}`,
  }),
  loginLocked: (): Notice => ({
    en: "this login is locked after too many wrong passwords: call the bank's help desk",
    ja: `${L.loginPassword.ja}を続けて間違えたため、ログインがロックされています。銀行のヘルプデスクにご連絡ください。`,
  }),
  codeRequired: (): Notice => ({
    en: "this customer has a token: type the one-time password it shows, too",
    ja: `トークンをお持ちのお客様は、${T.oneTimePassword.ja}も入力してください。`,
  }),
  loginTicket: (): Notice => ({
    en: "your internet-banking session has ended: log in again",
    ja: "ログインの有効期限が切れました。もう一度ログインしてください。",
  }),
  loginIdForm: (): Notice => ({
    en: `the login ID must be ${L.loginIdHint.en}`,
    ja: `${L.loginId.ja}は${L.loginIdHint.ja}で入力してください。`,
  }),
  loginPasswordForm: (): Notice => ({
    en: `the login password must be ${L.loginPasswordHint.en}`,
    ja: `${L.loginPassword.ja}は${L.loginPasswordHint.ja}で入力してください。`,
  }),
  loginPasswordMismatch: (): Notice => ({
    en: "the two login passwords differ: type the same password twice",
    ja: `${L.loginPassword.ja}が一致しません。同じものを2回入力してください。`,
  }),
  loginTaken: (): Notice => ({
    en: "this login ID is taken, or this customer already has a login",
    ja: `この${L.loginId.ja}は使用できません。別の${L.loginId.ja}を指定してください。`,
  }),
} as const;
