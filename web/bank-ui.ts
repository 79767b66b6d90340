// The bank's screens (DESIGN.md, "The procedure it implements"): login, token issue, the confirm
// screen with the IDs and the one-time-password box, the login after confirmation, the administrator's
// unlock, and the outbox where the set-up mail arrives.
import { ApiError, get, post, type Issued, type MailSummary } from "./api.js";
import { CODE, mailProblem, passwordProblem, USER_ID } from "./checks.js";
import { clear, say, sayError, type StringKey } from "./i18n.js";

type ScreenName = "login" | "welcome" | "issue" | "confirm" | "admin" | "outbox";

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const value = (id: string) => $<HTMLInputElement>(id).value;

let issued: Issued | null = null;

function show(name: ScreenName, focus = true): void {
  for (const screen of document.querySelectorAll<HTMLElement>("#bank .screen")) screen.hidden = screen.id !== `screen-${name}`;
  for (const button of document.querySelectorAll<HTMLElement>("nav [data-go]")) {
    if (button.dataset.go === name) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  // Keyboard and screen-reader users land on the new screen's heading.
  const heading = document.querySelector<HTMLElement>(`#screen-${name} h3`);
  if (heading && focus) {
    heading.tabIndex = -1;
    heading.focus();
  }
  if (name === "outbox") void loadOutbox();
}

function showError(element: HTMLElement, error: unknown, prefix: StringKey | null = null): void {
  if (error instanceof ApiError) sayError(element, error.code, error.message, prefix);
  else sayError(element, "internal", (error as Error).message, prefix);
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

async function onIssue(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  const fieldIds = ["issue-mail", "issue-mail2", "issue-password", "issue-password2"];
  for (const id of fieldIds) {
    clear($(`${id}-error`));
    $(id).removeAttribute("aria-invalid");
  }
  clear($("issue-message"));
  const mail = value("issue-mail"), mail2 = value("issue-mail2"), password = value("issue-password"), password2 = value("issue-password2");
  const problems: [string, string][] = [];
  const mailRule = mailProblem(mail);
  if (mailRule) problems.push(["issue-mail", mailRule]);
  if (mail2 !== mail) problems.push(["issue-mail2", "mail-mismatch"]);
  const passwordRule = passwordProblem(password);
  if (passwordRule) problems.push(["issue-password", passwordRule]);
  if (password2 !== password) problems.push(["issue-password2", "password-mismatch"]);
  if (problems.length > 0) {
    for (const [id, code] of problems) flagField(id, code, "");
    $(problems[0][0]).focus();
    return;
  }
  try {
    issued = await post<Issued>("/api/issue", { mail, mailConfirm: mail2, password, passwordConfirm: password2 });
  } catch (error) {
    const field = error instanceof ApiError ? ISSUE_FIELD[error.code] : undefined;
    if (field && error instanceof ApiError) {
      flagField(field, error.code, error.message);
      $(field).focus();
    } else {
      showError($("issue-message"), error);
    }
    return;
  }
  $<HTMLInputElement>("issue-password").value = "";
  $<HTMLInputElement>("issue-password2").value = "";
  $("confirm-mail").textContent = issued.mail;
  $("confirm-service-id").textContent = issued.serviceId;
  $("confirm-user-id").textContent = issued.userId;
  $<HTMLInputElement>("confirm-code").value = "";
  clear($("confirm-message"));
  show("confirm");
}

function flagField(id: string, code: string, serverMessage: string): void {
  $(id).setAttribute("aria-invalid", "true");
  sayError($(`${id}-error`), code, serverMessage);
}

async function onConfirm(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  const message = $("confirm-message");
  clear(message);
  const code = value("confirm-code").trim();
  if (!issued) return;
  if (!CODE.test(code)) return say(message, "check.code", "", "error");
  try {
    await post("/api/confirm", { serviceId: issued.serviceId, userId: issued.userId, code });
  } catch (error) {
    showError(message, error);
    return;
  }
  $<HTMLInputElement>("login-user").value = issued.userId;
  $<HTMLInputElement>("login-code").value = "";
  $("login-done").hidden = false;
  clear($("login-message"));
  issued = null;
  show("login");
}

async function onLogin(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  const message = $("login-message");
  clear(message);
  const userId = value("login-user").trim().toUpperCase();
  const code = value("login-code").trim();
  if (!USER_ID.test(userId)) return say(message, "check.userId", "", "error");
  if (!CODE.test(code)) return say(message, "check.code", "", "error");
  try {
    const result = await post<{ offset: number; driftSteps: number }>("/api/login", { userId, code });
    $<HTMLInputElement>("login-code").value = "";
    $("welcome-detail").textContent = `${userId} (offset ${result.offset}, drift ${result.driftSteps})`;
    $("login-done").hidden = true;
    show("welcome");
  } catch (error) {
    showError(message, error);
  }
}

interface Status {
  token: { serial: string; locked: boolean; consecutiveFailures: number } | null;
}

async function onAdminLookup(event?: Event): Promise<void> {
  event?.preventDefault();
  const message = $("admin-message");
  clear(message);
  const userId = value("admin-user").trim().toUpperCase();
  if (!USER_ID.test(userId)) return say(message, "check.userId", "", "error");
  try {
    const status = await get<Status>(`/api/status?userId=${encodeURIComponent(userId)}`);
    $("admin-status").hidden = false;
    $("admin-serial").textContent = status.token?.serial ?? "-";
    const state = $("admin-state");
    if (status.token) say(state, status.token.locked ? "admin.locked" : "admin.active");
    else say(state, "admin.none");
    $("admin-failures").textContent = String(status.token?.consecutiveFailures ?? "-");
  } catch (error) {
    $("admin-status").hidden = true;
    showError(message, error);
  }
}

async function onAdminUnlock(): Promise<void> {
  const message = $("admin-message");
  clear(message);
  const userId = value("admin-user").trim().toUpperCase();
  if (!USER_ID.test(userId)) return say(message, "check.userId", "", "error");
  try {
    await post("/api/admin/unlock", { userId });
    await onAdminLookup();
    say(message, "admin.unlocked", "", "ok");
  } catch (error) {
    showError(message, error);
  }
}

async function loadOutbox(): Promise<void> {
  const list = $("outbox-list");
  list.replaceChildren();
  const { messages } = await get<{ messages: MailSummary[] }>("/api/outbox");
  $("outbox-empty").hidden = messages.length > 0;
  for (const mail of messages) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = `${mail.date} — ${mail.to} — ${mail.subject}`;
    button.addEventListener("click", async () => {
      const full = await get<{ text: string }>(`/api/outbox/${encodeURIComponent(mail.id)}`);
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

export function startBank(): void {
  for (const button of document.querySelectorAll<HTMLElement>("nav [data-go]")) {
    button.addEventListener("click", () => show(button.dataset.go as ScreenName));
  }
  $<HTMLFormElement>("issue-form").addEventListener("submit", (event) => void onIssue(event));
  $<HTMLFormElement>("confirm-form").addEventListener("submit", (event) => void onConfirm(event));
  $("confirm-back").addEventListener("click", () => {
    issued = null;
    show("issue");
  });
  $<HTMLFormElement>("login-form").addEventListener("submit", (event) => void onLogin(event));
  $("logout").addEventListener("click", () => show("login"));
  $<HTMLFormElement>("admin-form").addEventListener("submit", (event) => void onAdminLookup(event));
  $("admin-unlock").addEventListener("click", () => void onAdminUnlock());
  $("outbox-refresh").addEventListener("click", () => {
    $("outbox-mail").hidden = true;
    void loadOutbox();
  });
  show("login", false);
}
