// The bank's screens, as the bank's manual shows them: ① the login (ログインID and ログインパスワード,
// and the one-time password once the customer has a token), ② トークン発行 for the logged-in
// customer (a re-set-up when it has a token), ③ ワンタイムパスワード認証確認 (the IDs and the
// one-time-password box, 認証確認 and 戻る, which voids the issue it leaves), ⑧ back to the login
// screen after 認証確認, the administrator's unlock, and the outbox where the set-up mail arrives. The
// date and time line and the 文字サイズ 小 中 大 switch head every screen.
//
// The login (the customer number, its token's User ID and the bank's login ticket) and the issue in
// progress (its IDs and mail address; never a password) are kept in sessionStorage, so the screens
// come back after a reload or a visit to the outbox.
import { ApiError, bank, type Issued, type LoggedIn, setAdminKey } from "./api.js";
import { CODE, mailProblem, passwordProblem, refusalOf, typedCode, USER_ID } from "./checks.js";
import { bankDateTime, bankDateTimeEn } from "../host/terms.js";
import { issueIsVoid } from "../host/refusals.js";
import { clear, language, mailNote, say, sayRefusal } from "./i18n.js";
import { startTransfer } from "./transfer-ui.js";

type ScreenName = "login" | "welcome" | "issue" | "confirm" | "admin" | "outbox" | "transfer" | "txauth";

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const value = (id: string) => $<HTMLInputElement>(id).value;

const ISSUE_KEY = "otp-token-issue";
const LOGIN_KEY = "otp-token-login";
const SIZE_KEY = "otp-token-text-size";
const TEXT_SIZES = ["small", "medium", "large"] as const;

let issued: Issued | null = null;
let loggedIn: LoggedIn | null = null;

function keepLogin(value: LoggedIn | null): void {
  loggedIn = value;
  if (value) sessionStorage.setItem(LOGIN_KEY, JSON.stringify(value));
  else sessionStorage.removeItem(LOGIN_KEY);
}

function restoredLogin(): LoggedIn | null {
  try {
    const saved = JSON.parse(sessionStorage.getItem(LOGIN_KEY) ?? "null") as LoggedIn | null;
    return saved && typeof saved.ticket === "string" && saved.ticketExpiresAt > Date.now() / 1000 ? saved : null;
  } catch {
    return null;
  }
}
let current: ScreenName = "login";
/** The bank's sending domain for the mail-filter note (a bank setting), once the server has said. */
let mailDomain: string | undefined;

function keepIssue(value: Issued | null): void {
  issued = value;
  if (value)
    sessionStorage.setItem(
      ISSUE_KEY,
      JSON.stringify({ serviceId: value.serviceId, userId: value.userId, mail: value.mail, mailId: value.mailId }),
    );
  else sessionStorage.removeItem(ISSUE_KEY);
  updateResume();
}

function restoredIssue(): Issued | null {
  try {
    const saved = JSON.parse(sessionStorage.getItem(ISSUE_KEY) ?? "null") as Issued | null;
    return saved && typeof saved.serviceId === "string" && typeof saved.userId === "string" && typeof saved.mail === "string"
      ? saved
      : null;
  } catch {
    return null;
  }
}

/** While an issue is in progress and its screen is not shown: the way back to it. */
function updateResume(): void {
  $("resume").hidden = !issued || current === "confirm";
}

function show(name: ScreenName, focus = true): void {
  current = name;
  for (const screen of document.querySelectorAll<HTMLElement>("#bank .screen")) screen.hidden = screen.id !== `screen-${name}`;
  for (const button of document.querySelectorAll<HTMLElement>("nav [data-go]")) {
    if (button.dataset.go === name) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  updateResume();
  // Keyboard and screen-reader users land on the new screen's heading.
  const heading = document.querySelector<HTMLElement>(`#screen-${name} h3`);
  if (heading && focus) {
    heading.tabIndex = -1;
    heading.focus();
  }
  if (name === "outbox") void loadOutbox();
}

/** Runs a request with its button disabled, so a double click cannot send it twice. */
async function busy(button: HTMLButtonElement, run: () => Promise<void>): Promise<void> {
  if (button.disabled) return;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    await run();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

/** Which field of the issue form a rule belongs to. */
const ISSUE_FIELD: Record<string, string> = {
  "mail-length": "issue-mail",
  "mail-characters": "issue-mail",
  "mail-format": "issue-mail",
  "mail-mismatch": "issue-mail2",
  "password-length": "issue-password",
  "password-characters": "issue-password",
  "password-mismatch": "issue-password2",
};
const ISSUE_FIELDS = ["issue-mail", "issue-mail2", "issue-password", "issue-password2"];

/** Each field's first broken rule, at most one error per field (mismatches only when the first is valid). */
function issueProblems(): [string, string][] {
  const mail = value("issue-mail"),
    mail2 = value("issue-mail2"),
    password = value("issue-password"),
    password2 = value("issue-password2");
  const problems: [string, string][] = [];
  const mailRule = mailProblem(mail);
  if (mailRule) problems.push(["issue-mail", mailRule]);
  else if (mail2 !== mail) problems.push(["issue-mail2", "mail-mismatch"]);
  const passwordRule = passwordProblem(password);
  if (passwordRule) problems.push(["issue-password", passwordRule]);
  else if (password2 !== password) problems.push(["issue-password2", "password-mismatch"]);
  return problems;
}

function clearField(id: string): void {
  clear($(`${id}-error`));
  $(id).removeAttribute("aria-invalid");
}

function flagField(id: string, code: string, serverMessage: string): void {
  $(id).setAttribute("aria-invalid", "true");
  sayRefusal($(`${id}-error`), { code, message: serverMessage }, "issue");
}

async function onIssue(): Promise<void> {
  for (const id of ISSUE_FIELDS) clearField(id);
  clear($("issue-message"));
  const problems = issueProblems();
  if (problems.length > 0) {
    for (const [id, code] of problems) flagField(id, code, "");
    $(problems[0][0]).focus();
    return;
  }
  if (!loggedIn) {
    showLogin("login.first");
    return;
  }
  let result: Issued;
  try {
    result = await bank.issue({
      mail: value("issue-mail"),
      mailConfirm: value("issue-mail2"),
      password: value("issue-password"),
      passwordConfirm: value("issue-password2"),
      ticket: loggedIn.ticket,
    });
  } catch (error) {
    const field = error instanceof ApiError ? ISSUE_FIELD[error.code] : undefined;
    if (field && error instanceof ApiError) {
      flagField(field, error.code, error.message);
      $(field).focus();
    } else {
      sayRefusal($("issue-message"), refusalOf(error), "issue");
    }
    return;
  }
  $<HTMLInputElement>("issue-password").value = "";
  $<HTMLInputElement>("issue-password2").value = "";
  keepIssue(result);
  showConfirm();
}

function showConfirm(focus = true): void {
  if (!issued) {
    show("issue", focus);
    return;
  }
  $("confirm-mail").textContent = issued.mail;
  $("confirm-service-id").textContent = issued.serviceId;
  $("confirm-user-id").textContent = issued.userId;
  show("confirm", focus);
}

async function onConfirm(): Promise<void> {
  const message = $("confirm-message");
  clear(message);
  const code = typedCode(value("confirm-code"));
  if (!issued) return;
  if (!CODE.test(code)) return say(message, "check.code", "", "error");
  try {
    await bank.confirm(issued.userId, code);
  } catch (error) {
    const refusal = refusalOf(error);
    sayRefusal(message, refusal, "confirm");
    // A void issue cannot be confirmed any more: 戻る (issue again) is the next thing to do.
    if (issueIsVoid(refusal, "confirm")) $("confirm-back").focus();
    return;
  }
  $<HTMLInputElement>("confirm-code").value = "";
  keepIssue(null);
  // ⑧: the login screen; from now on the login asks for the token's one-time password too.
  keepLogin(null);
  for (const id of ["login-password", "login-code"]) $<HTMLInputElement>(id).value = "";
  $("login-done").hidden = false;
  clear($("login-message"));
  show("login");
}

/** The login screen, with a message (why the customer is there) or none. */
function showLogin(key: "login.first" | "login.firstTransfer" | null = null): void {
  const message = $("login-message");
  if (key) say(message, key, "", "error");
  else clear(message);
  show("login");
}

function showWelcome(): void {
  if (!loggedIn) {
    showLogin();
    return;
  }
  $("welcome-customer").textContent = loggedIn.customerNumber;
  $("welcome-user-id").textContent = loggedIn.userId ?? "-";
  show("welcome");
}

/** 振込 for the logged-in customer with a token (set by startBank). */
let showTransfer: () => void = () => {};

/** ② for the logged-in customer only; a customer in the middle of an issue sees its 認証確認 screen. */
function showIssue(): void {
  if (!loggedIn) showLogin("login.first");
  else if (issued) showConfirm();
  else show("issue");
}

async function onLogin(): Promise<void> {
  const message = $("login-message");
  clear(message);
  const loginId = value("login-id").trim();
  const password = value("login-password");
  const code = typedCode(value("login-code"));
  if (code !== "" && !CODE.test(code)) return say(message, "check.code", "", "error");
  try {
    const result = await bank.login(loginId, password, code === "" ? undefined : code);
    for (const id of ["login-password", "login-code"]) $<HTMLInputElement>(id).value = "";
    $("login-done").hidden = true;
    keepLogin(result);
    showWelcome();
  } catch (error) {
    sayRefusal(message, refusalOf(error), "login");
  }
}

function onLogout(): void {
  keepLogin(null);
  keepIssue(null);
  $("login-done").hidden = true;
  showLogin();
}

async function onAdminLookup(): Promise<void> {
  const message = $("admin-message");
  clear(message);
  const userId = typedCode(value("admin-user")).toUpperCase();
  if (!USER_ID.test(userId)) return say(message, "check.userId", "", "error");
  try {
    setAdminKey(value("admin-key"));
    const status = await bank.status(userId);
    $("admin-status").hidden = false;
    $("admin-serial").textContent = status.token?.serial ?? "-";
    const state = $("admin-state");
    if (status.token) say(state, status.token.locked ? "admin.locked" : "admin.active");
    else say(state, "admin.none");
    $("admin-failures").textContent = String(status.token?.consecutiveFailures ?? "-");
  } catch (error) {
    $("admin-status").hidden = true;
    sayRefusal(message, refusalOf(error), "login");
  }
}

async function onAdminUnlock(): Promise<void> {
  const message = $("admin-message");
  clear(message);
  const userId = typedCode(value("admin-user")).toUpperCase();
  if (!USER_ID.test(userId)) return say(message, "check.userId", "", "error");
  try {
    setAdminKey(value("admin-key"));
    await bank.unlock(userId);
    await onAdminLookup();
    say(message, "admin.unlocked", "", "ok");
  } catch (error) {
    sayRefusal(message, refusalOf(error), "login");
  }
}

async function loadOutbox(): Promise<void> {
  const list = $("outbox-list");
  list.replaceChildren();
  const { mails: messages } = await bank.outbox(0);
  $("outbox-empty").hidden = messages.length > 0;
  for (const mail of messages) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = `${mail.date} — ${mail.to} — ${mail.subject}`;
    button.addEventListener("click", async () => {
      const full = await bank.mail(mail.id);
      const pre = $("outbox-mail");
      pre.textContent = full.text.replace(/\r\n/g, "\n");
      pre.hidden = false;
      pre.focus();
    });
    item.append(button);
    list.append(item);
  }
  // The newest mail opens by itself, as a mail client would show it.
  if (messages.length > 0 && $("outbox-mail").hidden) list.querySelector("button")?.click();
}

/** The screen's date and time line, as the manual prints it (Japan time). */
function tickClock(): void {
  $("bank-clock").textContent = language() === "ja" ? bankDateTime(Date.now() / 1000) : bankDateTimeEn(Date.now() / 1000);
}

function setTextSize(size: (typeof TEXT_SIZES)[number]): void {
  $("bank").dataset.textSize = size;
  for (const button of document.querySelectorAll<HTMLElement>("[data-size]"))
    button.setAttribute("aria-pressed", String(button.dataset.size === size));
  localStorage.setItem(SIZE_KEY, size);
}

function showMailNote(): void {
  $("issue-mail-note").textContent = mailNote(mailDomain);
}

/**
 * The bank's settings the page shows (the sending domain of its mail). Until the server answers
 * with them, the mail-filter note asks for the bank's mail without naming the domain.
 */
async function loadSettings(): Promise<void> {
  try {
    const settings = await bank.settings();
    if (typeof settings.mailDomain === "string" && settings.mailDomain) mailDomain = settings.mailDomain;
  } catch {
    // Not offered by this server: the note stays general.
  }
  showMailNote();
}

function onSubmit(formId: string, buttonId: string, run: () => Promise<void>): void {
  $<HTMLFormElement>(formId).addEventListener("submit", (event) => {
    event.preventDefault();
    void busy($<HTMLButtonElement>(buttonId), run);
  });
}

export function startBank(): void {
  for (const button of document.querySelectorAll<HTMLElement>("nav [data-go]")) {
    button.addEventListener("click", () =>
      button.dataset.go === "issue"
        ? showIssue()
        : button.dataset.go === "transfer"
          ? showTransfer()
          : button.dataset.go === "login" && loggedIn
            ? showWelcome()
            : show(button.dataset.go as ScreenName),
    );
  }
  onSubmit("issue-form", "issue-submit", onIssue);
  onSubmit("confirm-form", "confirm-submit", onConfirm);
  onSubmit("login-form", "login-submit", onLogin);
  onSubmit("admin-form", "admin-lookup", onAdminLookup);
  $("admin-unlock").addEventListener("click", () => void busy($<HTMLButtonElement>("admin-unlock"), onAdminUnlock));
  // A corrected field loses its error at once; the others keep theirs.
  for (const id of ISSUE_FIELDS) $(id).addEventListener("input", () => $(id).hasAttribute("aria-invalid") && clearField(id));
  // 戻る: the issue this screen shows is void at the bank (its IDs stop working), then トークン発行 again.
  $("confirm-back").addEventListener(
    "click",
    () =>
      void busy($<HTMLButtonElement>("confirm-back"), async () => {
        const leaving = issued;
        clear($("confirm-message"));
        if (leaving && loggedIn) {
          try {
            await bank.withdraw(loggedIn.ticket, leaving.userId);
          } catch (error) {
            // An ended login: log in again (the issue stays pending until it expires or the next issue voids it).
            sayRefusal($("confirm-message"), refusalOf(error), "issue");
            if (error instanceof ApiError && error.code === "login-ticket") {
              keepLogin(null);
              keepIssue(null);
              showLogin();
            }
            return;
          }
        }
        keepIssue(null);
        showIssue();
      }),
  );
  $("welcome-issue").addEventListener("click", () => showIssue());
  $("welcome-transfer").addEventListener("click", () => showTransfer());
  // 振込 and its 取引認証 (web/transfer-ui.ts): for the logged-in customer whose token is set up.
  const transfers = startTransfer({ show: (name) => show(name), loggedIn: () => loggedIn });
  showTransfer = () => (loggedIn ? transfers.showForm() : showLogin("login.firstTransfer"));
  $("resume-confirm").addEventListener("click", () => showConfirm());
  $("logout").addEventListener("click", onLogout);
  $("outbox-refresh").addEventListener("click", () => {
    $("outbox-mail").hidden = true;
    void loadOutbox();
  });
  for (const button of document.querySelectorAll<HTMLElement>("[data-size]")) {
    button.addEventListener("click", () => setTextSize(button.dataset.size as (typeof TEXT_SIZES)[number]));
  }
  const size = localStorage.getItem(SIZE_KEY);
  setTextSize(TEXT_SIZES.includes(size as (typeof TEXT_SIZES)[number]) ? (size as (typeof TEXT_SIZES)[number]) : "medium");
  // After 登録 on the token, the next thing to do is typing its code into this screen.
  document.addEventListener("token-registered", () => {
    if (current === "confirm") $("confirm-code").focus();
  });
  document.addEventListener("languagechange", () => {
    showMailNote();
    tickClock();
  });
  tickClock();
  setInterval(tickClock, 1000);
  showMailNote();
  void loadSettings();
  loggedIn = restoredLogin();
  issued = loggedIn ? restoredIssue() : null;
  if (issued) showConfirm(false);
  else if (loggedIn) showWelcome();
  else show("login", false);
}
