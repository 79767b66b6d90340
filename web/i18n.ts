// Every word the page shows, one table per language. The bank manual's terms come from host/terms.ts
// (the one source for every front end) and the bank's refusals from host/refusals.ts; this table adds
// only the page's own words. Elements carry data-i18n="key" (text) or data-i18n-label="key"
// (aria-label); messages set from code remember their key, so switching the language re-words what is
// on the screen.
import { type BankRefusal, refusalWords } from "../host/refusals.js";
import { GUIDANCE, LOGIN, mailFilterNote, type Term, TERMS, TOKEN_SCREENS, TRANSFER } from "../host/terms.js";

export type Lang = "ja" | "en";

/** The manual's terms and our guidance, under the keys the page uses. */
const FROM_TERMS: Record<string, Term> = {
  "nav.issue": TERMS.tokenIssue,
  "issue.title": TERMS.issueTitle,
  "issue.security": TERMS.securityNotice,
  "confirm.generate": TERMS.setupAndGenerate,
  "login.setupDone": TERMS.setupDone,
  "login.loginId": LOGIN.loginId,
  "login.password": LOGIN.loginPassword,
  "login.codeHint": LOGIN.codeWhenSetUp,
  "login.customer": LOGIN.loggedInAs,
  "login.first": LOGIN.loginFirst,
  "bank.title": LOGIN.bankName,
  "reg.terms": LOGIN.consentTerms,
  "issue.mail": TERMS.mobileMail,
  "issue.password": TERMS.activationPassword,
  "issue.intro": TERMS.issueInstruction,
  "issue.mailTwice": TERMS.mailTwice,
  "issue.passwordTwice": TERMS.passwordTwice,
  "issue.input": TERMS.input,
  "issue.reenter": TERMS.reenter,
  "issue.mailHint": TERMS.mailHint,
  "issue.passwordHint": TERMS.passwordHint,
  "issue.submit": TERMS.tokenIssue,
  "confirm.title": TERMS.confirmScreen,
  "confirm.intro": TERMS.confirmInstruction,
  "confirm.destination": TERMS.destinationMail,
  "confirm.mail": TERMS.mobileMail,
  "confirm.tokenInfo": TERMS.tokenInformation,
  "confirm.serviceId": TERMS.serviceId,
  "confirm.userId": TERMS.userId,
  "confirm.sent": GUIDANCE.mailSent,
  "confirm.needs": TERMS.setupNeeds,
  "confirm.noMail": TERMS.noMail,
  "confirm.code": TERMS.oneTimePassword,
  "confirm.countdown": TERMS.countdownNote,
  "confirm.submit": TERMS.confirmButton,
  "confirm.back": TERMS.back,
  "login.userId": TERMS.userId,
  "login.code": TERMS.oneTimePassword,
  "admin.userId": TERMS.userId,
  "size.label": TERMS.textSize,
  "size.small": TERMS.textSmall,
  "size.medium": TERMS.textMedium,
  "size.large": TERMS.textLarge,
  "reg.intro": GUIDANCE.tokenSetup,
  "reg.serviceId": TERMS.serviceId,
  "reg.userId": TERMS.userId,
  "reg.password": TERMS.activationPassword,
  "reg.passwordHint": TERMS.passwordHint,
  "reg.consent": TERMS.agree,
  "reg.send": TERMS.send,
  "reg.register": TERMS.register,
  "reg.sent": GUIDANCE.bankAnswered,
  "reg.registered": GUIDANCE.registered,
  "reg.consentMissing": GUIDANCE.consentMissing,
  "nav.transfer": TRANSFER.transfer,
  "transfer.title": TRANSFER.payeeTitle,
  "transfer.payee": TRANSFER.payee,
  "transfer.bankCode": TRANSFER.bankCode,
  "transfer.branch": TRANSFER.branch,
  "transfer.account": TRANSFER.account,
  "transfer.name": TRANSFER.name,
  "transfer.amount": TRANSFER.amount,
  "transfer.next": TRANSFER.next,
  "txauth.title": TRANSFER.authTitle,
  "txauth.intro": TRANSFER.authIntro,
  "txauth.flicker": TRANSFER.flicker,
  "txauth.speed": TRANSFER.speed,
  "txauth.slower": TRANSFER.slower,
  "txauth.faster": TRANSFER.faster,
  "txauth.manual": TRANSFER.manualEntry,
  "txauth.code": TRANSFER.code,
  "txauth.submit": TRANSFER.execute,
  "txauth.accepted": TRANSFER.accepted,
  "txauth.back": TERMS.back,
  "token.scan": TRANSFER.scan,
  "token.scanStop": TRANSFER.scanStop,
  "token.noFlicker": TRANSFER.noFlicker,
  "token.scanGesture": TRANSFER.scanGesture,
  "token.scanWaitDark": TRANSFER.scanWaitDark,
  "token.scanAnswerFirst": TRANSFER.scanAnswerFirst,
  "token.scanEnded": TRANSFER.scanEnded,
};

const ja = {
  title: "ワンタイムパスワード 再設定シミュレーター",
  "lang.switch": "English",
  "lang.switchLabel": "Switch to English",
  "nav.login": "ログイン",
  "nav.outbox": "メール受信箱",
  "nav.admin": "管理者",
  "nav.label": "銀行の画面",
  "nav.resume": `手続きの途中です：「${TERMS.confirmScreen.ja}」に戻る`,
  "login.title": "ログイン",
  "login.done": "ワンタイムパスワードの設定が完了しました。ログインしてください。",
  "login.submit": "ログイン",
  "login.welcome": "ログインしました。",
  "login.logout": "ログアウト",
  "reg.termsShow": "「同意する」の内容（ご利用条件）",
  "issue.passwordNote": `${TERMS.activationPassword.ja}はトークンの初期設定（${TERMS.register.ja}）の際に必要となります。`,
  "admin.title": "管理者：トークンのロック解除",
  "admin.key": "管理者APIキー（otp-token bank api-key create --scope admin）",
  "admin.lookup": "照会",
  "admin.unlock": "ロック解除",
  "admin.unlocked": "ロックを解除しました。",
  "admin.state": "状態",
  "admin.locked": "ロック中",
  "admin.active": "利用可能",
  "admin.failures": "連続失敗回数",
  "admin.serial": "トークン製造番号",
  "admin.none": "有効なトークンはありません",
  "outbox.title": "メール受信箱（銀行が送信したメール）",
  "outbox.empty": "メールはありません。",
  "outbox.open": "開く",
  "outbox.refresh": "更新",
  "token.title": "トークン",
  "token.display": "トークンの表示",
  "token.button": "ボタンA",
  "token.buttonHint": "クリックまたはスペース／Enterで押す。2秒以上押し続けると長押し。",
  "token.time": "トークンの時刻",
  "token.clock": "トークンの時計",
  "token.speed": "速度",
  "token.drift": "時計の誤差（ppm、正は進む）",
  "token.reset": "トークンを初期化（フラッシュ消去）",
  "token.erase": "トークンを消去",
  "token.eraseAsked": "消去の確認：10秒以内にボタンAを長押しすると、トークンのすべてのプロファイルを消去します。",
  "reg.replace": `このトークンには同じ${TERMS.serviceId.ja}のプロファイルがあります。10秒以内にボタンAを長押しすると、新しいものに置き換わります。置き換わってから表示される${TERMS.oneTimePassword.ja}で${TERMS.confirmButton.ja}してください。`,
  "token.resetDone": "新しいトークンになりました。",
  "token.loading": "ファームウェアを読み込み中…",
  "token.elsewhere":
    "このトークンは別のタブで使用中です。そのタブを閉じると、このタブで使えるようになります（二つのタブが同じトークンを書き換えないため）。",
  "reg.title": "トークン登録",
  "reg.refused": "登録できませんでした：",
  "check.serviceId": `${TERMS.serviceId.ja}は8桁の数字です。`,
  "check.userId": `${TERMS.userId.ja}は16桁の半角英大文字・数字です。`,
  "check.code": "ワンタイムパスワードは6〜8桁の数字です。",
  "check.drift": "誤差は -200000〜200000 ppm の数値で入力してください。",
  "error.link": "トークンが要求を拒否しました：",
  "check.transferCode": "取引認証番号は8桁の数字です。",
  "login.firstTransfer": "振込の前にログインしてください。",
  "transfer.noToken": `振込には設定済みのトークンが必要です。先に${TERMS.tokenIssue.ja}と${TERMS.confirmButton.ja}を行ってください。`,
  "check.bankCode": "金融機関コードは4桁の数字です。",
  "check.branch": "支店コードは3桁の数字です。",
  "check.account": "口座番号は7桁の数字です。",
  "check.amount": "振込金額は1円以上の整数で入力してください。",
  "check.name": "受取人名は半角カナ・英大文字・数字・スペース・（）－．で30文字以内です。",
  "txauth.refused": "振込できませんでした：",
  "transfer.refused": "振込を受け付けできませんでした：",
};

export type StringKey = keyof typeof ja | keyof typeof FROM_TERMS;

const en: Record<keyof typeof ja, string> = {
  title: "One-time password re-setup simulator",
  "lang.switch": "日本語",
  "lang.switchLabel": "日本語に切り替える",
  "nav.login": "Log in",
  "nav.outbox": "Mail inbox",
  "nav.admin": "Administrator",
  "nav.label": "Bank screens",
  "nav.resume": 'A set-up is under way: back to "One-time password confirmation"',
  "login.title": "Log in",
  "login.done": "One-time password set-up is complete. Please log in.",
  "login.submit": "Log in",
  "login.welcome": "You are logged in.",
  "login.logout": "Log out",
  "reg.termsShow": 'What "I agree" means (terms)',
  "issue.passwordNote": "The activation password is needed when the token is set up (registered).",
  "admin.title": "Administrator: unlock a token",
  "admin.key": "Administrator API key (otp-token bank api-key create --scope admin)",
  "admin.lookup": "Look up",
  "admin.unlock": "Unlock",
  "admin.unlocked": "The token is unlocked.",
  "admin.state": "State",
  "admin.locked": "locked",
  "admin.active": "usable",
  "admin.failures": "Consecutive failures",
  "admin.serial": "Token serial",
  "admin.none": "no active token",
  "outbox.title": "Mail inbox (mails the bank sent)",
  "outbox.empty": "No mail.",
  "outbox.open": "Open",
  "outbox.refresh": "Refresh",
  "token.title": "Token",
  "token.display": "The token's display",
  "token.button": "Button A",
  "token.buttonHint": "Click, or Space/Enter, to press. Keep it down 2 s or more to hold.",
  "token.time": "Token time",
  "token.clock": "The token's clock",
  "token.speed": "Speed",
  "token.drift": "Clock error (ppm, positive runs fast)",
  "token.reset": "Reset the token (erase its flash)",
  "token.erase": "Erase the token",
  "token.eraseAsked": "Erase: hold button A within 10 s to erase every profile on the token.",
  "reg.replace": `This token holds a profile for the same ${TERMS.serviceId.en}: hold button A within 10 s and the new one replaces it. Then confirm with the one-time password it shows.`,
  "token.resetDone": "This is a new token now.",
  "token.loading": "Loading the firmware…",
  "token.elsewhere": "This token is in use in another tab. Close that tab to use it here (two tabs never write the same token).",
  "reg.title": "Token registration",
  "reg.refused": "Registration refused: ",
  "check.serviceId": "The Service ID is 8 digits.",
  "check.userId": "The User ID is 16 upper-case letters or digits.",
  "check.code": "The one-time password is 6-8 digits.",
  "check.drift": "The clock error must be a number from -200000 to 200000 ppm.",
  "error.link": "The token refused: ",
  "check.transferCode": "The transfer code is 8 digits.",
  "login.firstTransfer": "Log in before making a transfer.",
  "transfer.noToken": "A transfer needs a token that is set up: issue and confirm one first.",
  "check.bankCode": "The bank code is 4 digits.",
  "check.branch": "The branch code is 3 digits.",
  "check.account": "The account number is 7 digits.",
  "check.amount": "The amount is a whole number of yen, 1 or more.",
  "check.name": "The payee name is up to 30 half-width katakana, A-Z, 0-9, space ( ) - .",
  "txauth.refused": "The transfer was refused: ",
  "transfer.refused": "The bank did not take the transfer: ",
};

export const STRINGS: Record<Lang, Record<StringKey, string>> = {
  ja: { ...Object.fromEntries(Object.entries(FROM_TERMS).map(([key, term]) => [key, term.ja])), ...ja } as Record<StringKey, string>,
  en: { ...Object.fromEntries(Object.entries(FROM_TERMS).map(([key, term]) => [key, term.en])), ...en } as Record<StringKey, string>,
};

let current: Lang = "ja";

export function language(): Lang {
  return current;
}

export function t(key: StringKey): string {
  return STRINGS[current][key];
}

/** A Term (host/terms.ts) in the page's language. */
export function pick(term: Term): string {
  return current === "ja" ? term.ja : term.en;
}

/** The words of a token screen (host/terms.ts TOKEN_SCREENS). */
export function screenWords(mode: keyof typeof TOKEN_SCREENS): string {
  return pick(TOKEN_SCREENS[mode]);
}

/** The mail-filter note with the bank's sending domain (a bank setting; unknown until the page has it). */
export function mailNote(domain: string | undefined): string {
  return pick(mailFilterNote(domain));
}

/** Shows a message in `element` and remembers how to re-word it when the language changes. */
export function say(element: HTMLElement, key: StringKey | null, extra = "", kind: "error" | "ok" | "" = ""): void {
  delete element.dataset.refusal;
  delete element.dataset.words;
  element.dataset.msgKey = key ?? "";
  element.dataset.msgExtra = extra;
  element.dataset.kind = kind;
  element.textContent = (key ? t(key) : "") + extra;
}

type Step = "issue" | "register" | "confirm" | "login";

/** A bank refusal in the holder's words (attempts left, void issue), re-worded on a language switch. */
export function sayRefusal(element: HTMLElement, refusal: BankRefusal, during: Step, prefix: StringKey | null = null): void {
  delete element.dataset.words;
  element.dataset.msgKey = prefix ?? "";
  element.dataset.refusal = JSON.stringify({ refusal, during });
  element.dataset.kind = "error";
  element.textContent = refusalText(refusal, during, prefix);
}

/** `words` (both languages) after the `prefix` message, as an error, re-worded on a language switch. */
export function sayWords(element: HTMLElement, prefix: StringKey | null, words: Term): void {
  delete element.dataset.refusal;
  element.dataset.msgKey = prefix ?? "";
  element.dataset.words = JSON.stringify(words);
  element.dataset.kind = "error";
  element.textContent = (prefix ? t(prefix) : "") + pick(words);
}

function refusalText(refusal: BankRefusal, during: Step, prefix: StringKey | null): string {
  const words = refusalWords(refusal, during);
  // A refusal this table does not word: the bank's own sentence in the page's language, never English inside Japanese.
  const fallback = current === "ja" ? (refusal.messageJa ?? `お手続きを完了できませんでした（${refusal.code}）。`) : refusal.message;
  return (prefix ? t(prefix) : "") + (words ? pick(words) : fallback);
}

export function clear(element: HTMLElement): void {
  say(element, null);
}

/** Re-words the whole page. */
export function setLanguage(lang: Lang): void {
  current = lang;
  document.documentElement.lang = lang;
  for (const element of document.querySelectorAll<HTMLElement>("[data-i18n]")) element.textContent = t(element.dataset.i18n as StringKey);
  for (const element of document.querySelectorAll<HTMLElement>("[data-i18n-label]"))
    element.setAttribute("aria-label", t(element.dataset.i18nLabel as StringKey));
  for (const element of document.querySelectorAll<HTMLElement>("[data-msg-key]")) {
    const key = (element.dataset.msgKey || null) as StringKey | null;
    if (element.dataset.refusal) {
      const { refusal, during } = JSON.parse(element.dataset.refusal) as { refusal: BankRefusal; during: Step };
      element.textContent = refusalText(refusal, during, key);
    } else if (element.dataset.words) {
      element.textContent = (key ? t(key) : "") + pick(JSON.parse(element.dataset.words) as Term);
    } else {
      element.textContent = (key ? t(key) : "") + (element.dataset.msgExtra ?? "");
    }
  }
  document.title = t("title");
  document.dispatchEvent(new CustomEvent("languagechange"));
}
