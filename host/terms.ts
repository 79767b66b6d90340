// The bank's own words for the procedure, as its customer manual prints them (the credit union's
// "one-time password re-set-up" instructions), with the English the simulator shows beside them.
// One table for every front end: the browser page, the CLIs, the terminal simulator and the set-up
// mail take their wording from here, and a test keeps the Japanese equal to the manual's.
// This file imports nothing, so the page's bundle can take it.

/** A term of the manual: the Japanese exactly as printed, and the English we show for it. */
export interface Term {
  readonly ja: string;
  readonly en: string;
}

export const TERMS = {
  /** The password the customer sets at issue and types into the token (step 2 and 5). */
  activationPassword: { ja: "利用開始パスワード", en: "activation password" },
  /** The address the set-up mail goes to. */
  mobileMail: { ja: "携帯電話メールアドレス", en: "mobile mail address" },
  /** The issue screen, and its button. */
  tokenIssue: { ja: "トークン発行", en: "Issue token" },
  /** The screen of step 3, where the first code is typed. */
  confirmScreen: { ja: "ワンタイムパスワード認証確認", en: "One-time password confirmation" },
  /** The button that sends the first code (step 7). */
  confirmButton: { ja: "認証確認", en: "Confirm" },
  /** The button that goes back to issue again when the mail never came. */
  back: { ja: "戻る", en: "Back" },
  /** Headings of the confirmation screen. */
  destinationMail: { ja: "送信先メールアドレス", en: "Mail sent to" },
  tokenInformation: { ja: "トークン情報", en: "Token information" },
  serviceId: { ja: "サービスID", en: "Service ID" },
  userId: { ja: "ユーザID", en: "User ID" },
  oneTimePassword: { ja: "ワンタイムパスワード", en: "One-time password" },
  /** The token's registration form (steps 5 and 6). */
  agree: { ja: "同意する", en: "I agree" },
  send: { ja: "送信", en: "Send" },
  register: { ja: "登録", en: "Register" },
  /** The two boxes of each field typed twice. */
  input: { ja: "入力", en: "Enter" },
  reenter: { ja: "再入力", en: "Re-enter" },
  /** Input hints under the issue screen's boxes. */
  mailHint: { ja: "半角英数字記号4文字以上64文字以内", en: "4 to 64 half-width letters, digits and symbols" },
  passwordHint: { ja: "半角英数字4桁以上8桁以内", en: "4 to 8 half-width letters and digits" },
  mailTwice: { ja: "※携帯電話メールアドレスを2回入力してください。", en: "* Enter the mobile mail address twice." },
  passwordTwice: { ja: "※利用開始パスワードを2回入力してください。", en: "* Enter the activation password twice." },
  /** The text-size switch at the top of every bank screen. */
  textSize: { ja: "文字サイズ", en: "Text size" },
  textSmall: { ja: "小", en: "S" },
  textMedium: { ja: "中", en: "M" },
  textLarge: { ja: "大", en: "L" },
} as const satisfies Record<string, Term>;

export type TermKey = keyof typeof TERMS;

/**
 * The issue screen's note on mail filters, naming the bank's sending domain (a bank setting):
 * the manual's sentence with the domain in its quotes.
 */
export function mailFilterNote(domain: string): Term {
  return {
    ja: `送信メールフィルタ等で送信メール対策をしている方は、「${domain}」を解除設定してご利用ください。`,
    en: `If you filter incoming mail, allow mail from "${domain}" before you continue.`,
  };
}

const JST_OFFSET_SECONDS = 9 * 3600;

/**
 * The bank screens' date and time, in Japan time as the manual prints it:
 * "2021年05月20日 17時27分40秒". Japan has no daylight saving time, so a fixed +9 h is exact.
 */
export function bankDateTime(unixSeconds: number): string {
  const d = new Date((Math.floor(unixSeconds) + JST_OFFSET_SECONDS) * 1000);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${d.getUTCFullYear()}年${two(d.getUTCMonth() + 1)}月${two(d.getUTCDate())}日 ` +
    `${two(d.getUTCHours())}時${two(d.getUTCMinutes())}分${two(d.getUTCSeconds())}秒`;
}
