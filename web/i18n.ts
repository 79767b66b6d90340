// Every word the page shows, one table per language. Elements carry data-i18n="key" (text) or
// data-i18n-label="key" (aria-label); messages set from code remember their key, so switching the
// language re-words what is on the screen. Error keys are the server's error codes (host/bank/errors.ts,
// host/web/http-errors.ts); where a table has none, the server's own (English) message is shown.

export type Lang = "ja" | "en";

const ja = {
  "title": "ワンタイムパスワード 再設定シミュレーター",
  "lang.switch": "English",
  "lang.switchLabel": "Switch to English",
  "bank.title": "インターネットバンキング",
  "nav.login": "ログイン",
  "nav.issue": "トークン発行",
  "nav.outbox": "メール受信箱",
  "nav.admin": "管理者",
  "nav.label": "銀行の画面",
  "login.title": "ログイン",
  "login.done": "ワンタイムパスワードの設定が完了しました。ログインしてください。",
  "login.userId": "ユーザーID（16桁）",
  "login.code": "ワンタイムパスワード（トークンに表示中の数字）",
  "login.submit": "ログイン",
  "login.welcome": "ログインしました。",
  "login.logout": "ログアウト",
  "issue.title": "トークン発行",
  "issue.intro": "携帯電話のメールアドレスとアクティベーションパスワードを入力し、「トークン発行」を押してください。",
  "issue.mail": "メールアドレス（半角英数記号 4〜64文字）",
  "issue.mail2": "メールアドレス（確認のため再入力）",
  "issue.password": "アクティベーションパスワード（半角英数字 4〜8文字）",
  "issue.password2": "アクティベーションパスワード（確認のため再入力）",
  "issue.submit": "トークン発行",
  "confirm.title": "認証確認",
  "confirm.sent": "次のメールアドレスにトークン設定用のURLを送信しました。",
  "confirm.mail": "送信先メールアドレス",
  "confirm.serviceId": "サービスID",
  "confirm.userId": "ユーザーID",
  "confirm.howto": "トークンに表示されたワンタイムパスワードを入力し、「確認」を押してください。メールが届かない場合は「戻る」から再発行してください。",
  "confirm.code": "ワンタイムパスワード",
  "confirm.submit": "確認",
  "confirm.back": "戻る",
  "admin.title": "管理者：トークンのロック解除",
  "admin.userId": "ユーザーID（16桁）",
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
  "token.resetDone": "新しいトークンになりました。",
  "token.loading": "ファームウェアを読み込み中…",
  "reg.title": "トークン登録",
  "reg.serviceId": "サービスID（8桁）",
  "reg.userId": "ユーザーID（16桁）",
  "reg.password": "アクティベーションパスワード",
  "reg.consent": "利用規約に同意する",
  "reg.send": "送信",
  "reg.register": "登録",
  "reg.sent": "銀行が応答しました。「登録」を押してください。",
  "reg.registered": "登録しました。トークンに表示されたパスワードを銀行の画面に入力してください。",
  "reg.consentMissing": "利用規約に同意してください。",
  "reg.refused": "登録できませんでした：",
  "check.serviceId": "サービスIDは8桁の数字です。",
  "check.userId": "ユーザーIDは16桁の半角英大文字・数字です。",
  "check.code": "ワンタイムパスワードは6〜8桁の数字です。",
  "check.drift": "誤差は -200000〜200000 ppm の数値で入力してください。",
  "error.mail-length": "メールアドレスは4〜64文字で入力してください。",
  "error.mail-characters": "メールアドレスは半角英数字・記号で入力してください（空白・全角文字は使えません）。",
  "error.mail-format": "メールアドレスの形式が正しくありません（例：name@example.jp）。",
  "error.mail-mismatch": "確認用メールアドレスが一致しません。",
  "error.password-length": "アクティベーションパスワードは4〜8文字で入力してください。",
  "error.password-characters": "アクティベーションパスワードは半角英数字のみで入力してください。",
  "error.password-mismatch": "確認用アクティベーションパスワードが一致しません。",
  "error.wrong-password": "アクティベーションパスワードが違います。",
  "error.wrong-code": "ワンタイムパスワードが違います。",
  "error.invalid-code": "ワンタイムパスワードの桁数が違います。",
  "error.replayed": "このワンタイムパスワードは使用済みです。次のパスワードが表示されるまでお待ちください。",
  "error.locked": "トークンがロックされています。管理者にロック解除を依頼してください。",
  "error.unknown": "該当するサービスID・ユーザーIDがありません。",
  "error.expired": "有効期限が切れました。トークンを再発行してください。",
  "error.not-activated": "トークンの登録がまだ完了していません。",
  "error.malformed": "トークンからの要求が正しくありません。",
  "error.network": "サーバーに接続できません。",
  "error.link": "トークンが要求を拒否しました：",
} as const;

export type StringKey = keyof typeof ja;

const en: Record<StringKey, string> = {
  "title": "One-time password re-setup simulator",
  "lang.switch": "日本語",
  "lang.switchLabel": "日本語に切り替える",
  "bank.title": "Internet banking",
  "nav.login": "Log in",
  "nav.issue": "Token issue",
  "nav.outbox": "Mail inbox",
  "nav.admin": "Administrator",
  "nav.label": "Bank screens",
  "login.title": "Log in",
  "login.done": "One-time password set-up is complete. Please log in.",
  "login.userId": "User ID (16 characters)",
  "login.code": "One-time password (the number on the token)",
  "login.submit": "Log in",
  "login.welcome": "You are logged in.",
  "login.logout": "Log out",
  "issue.title": "Token issue",
  "issue.intro": "Enter your mobile mail address and an activation password, then press \"Issue token\".",
  "issue.mail": "Mail address (4-64 half-width letters, digits, symbols)",
  "issue.mail2": "Mail address (again, to confirm)",
  "issue.password": "Activation password (4-8 half-width letters and digits)",
  "issue.password2": "Activation password (again, to confirm)",
  "issue.submit": "Issue token",
  "confirm.title": "Authentication confirm",
  "confirm.sent": "The token set-up URL was mailed to this address.",
  "confirm.mail": "Destination mail address",
  "confirm.serviceId": "Service ID",
  "confirm.userId": "User ID",
  "confirm.howto": "Type the one-time password the token shows and press \"Confirm\". If the mail never arrives, press \"Back\" and issue again.",
  "confirm.code": "One-time password",
  "confirm.submit": "Confirm",
  "confirm.back": "Back",
  "admin.title": "Administrator: unlock a token",
  "admin.userId": "User ID (16 characters)",
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
  "token.resetDone": "This is a new token now.",
  "token.loading": "Loading the firmware…",
  "reg.title": "Token registration",
  "reg.serviceId": "Service ID (8 digits)",
  "reg.userId": "User ID (16 characters)",
  "reg.password": "Activation password",
  "reg.consent": "I agree to the terms of use",
  "reg.send": "Send",
  "reg.register": "Register",
  "reg.sent": "The bank answered. Press \"Register\".",
  "reg.registered": "Registered. Type the password the token shows into the bank's screen.",
  "reg.consentMissing": "Please agree to the terms of use.",
  "reg.refused": "Registration refused: ",
  "check.serviceId": "The Service ID is 8 digits.",
  "check.userId": "The User ID is 16 upper-case letters or digits.",
  "check.code": "The one-time password is 6-8 digits.",
  "check.drift": "The clock error must be a number from -200000 to 200000 ppm.",
  "error.mail-length": "The mail address must be 4-64 characters.",
  "error.mail-characters": "The mail address must be half-width letters, digits and symbols (no spaces or full-width characters).",
  "error.mail-format": "The mail address must look like name@example.jp.",
  "error.mail-mismatch": "The two mail addresses differ.",
  "error.password-length": "The activation password must be 4-8 characters.",
  "error.password-characters": "The activation password must be half-width letters and digits only.",
  "error.password-mismatch": "The two activation passwords differ.",
  "error.wrong-password": "Wrong activation password.",
  "error.wrong-code": "Wrong one-time password.",
  "error.invalid-code": "The one-time password has the wrong number of digits.",
  "error.replayed": "This one-time password was already used: wait for the next one.",
  "error.locked": "The token is locked: ask the administrator to unlock it.",
  "error.unknown": "No such Service ID and User ID.",
  "error.expired": "The issue has expired: issue a new token.",
  "error.not-activated": "The token has not been registered yet.",
  "error.malformed": "The token's request was malformed.",
  "error.network": "Cannot reach the server.",
  "error.link": "The token refused: ",
};

export const STRINGS: Record<Lang, Record<StringKey, string>> = { ja, en };

let current: Lang = "ja";

export function language(): Lang {
  return current;
}

export function t(key: StringKey): string {
  return STRINGS[current][key];
}

/** Words for a server error: the table's, else (English, or a code the table lacks) the server's message. */
export function errorText(code: string, serverMessage: string): string {
  const key = `error.${code}` as StringKey;
  if (current === "en" && serverMessage) return serverMessage;
  return Object.hasOwn(STRINGS[current], key) ? STRINGS[current][key] : serverMessage;
}

/** Shows a message in `element` and remembers how to re-word it when the language changes. */
export function say(element: HTMLElement, key: StringKey | null, extra = "", kind: "error" | "ok" | "" = ""): void {
  element.dataset.msgKey = key ?? "";
  element.dataset.msgExtra = extra;
  element.dataset.kind = kind;
  element.textContent = (key ? t(key) : "") + extra;
}

/** Shows a server error in `element` (re-worded on a language switch). */
export function sayError(element: HTMLElement, code: string, serverMessage: string, prefix: StringKey | null = null): void {
  element.dataset.msgKey = prefix ?? "";
  element.dataset.errorCode = code;
  element.dataset.errorMessage = serverMessage;
  element.dataset.kind = "error";
  element.textContent = (prefix ? t(prefix) : "") + errorText(code, serverMessage);
}

export function clear(element: HTMLElement): void {
  delete element.dataset.errorCode;
  say(element, null);
}

/** Re-words the whole page. */
export function setLanguage(lang: Lang): void {
  current = lang;
  document.documentElement.lang = lang;
  for (const element of document.querySelectorAll<HTMLElement>("[data-i18n]")) element.textContent = t(element.dataset.i18n as StringKey);
  for (const element of document.querySelectorAll<HTMLElement>("[data-i18n-label]")) element.setAttribute("aria-label", t(element.dataset.i18nLabel as StringKey));
  for (const element of document.querySelectorAll<HTMLElement>("[data-msg-key]")) {
    const key = (element.dataset.msgKey || null) as StringKey | null;
    const prefix = key ? t(key) : "";
    element.textContent = element.dataset.errorCode
      ? prefix + errorText(element.dataset.errorCode, element.dataset.errorMessage ?? "")
      : prefix + (element.dataset.msgExtra ?? "");
  }
  document.title = t("title");
}
