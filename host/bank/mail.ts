// The set-up mail (procedure step 3), in Japanese with an English part, built by nodemailer's
// MailComposer: UTF-8 body, RFC 2047 encoded headers, RFC 2045 MIME. It names the Service ID and the
// User ID and says what to do on the token (enter them and the 利用開始パスワード, agree, 送信, then 登録);
// it never contains the password. Each mail is one RFC 5322 file in the outbox folder, for whatever
// sends mail to pick up; a re-set-up also mails the customer's address on record a notice that a
// new token was issued (composeNewTokenNotice); the browser simulator reads the outbox a page at a time (listOutbox).
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import MailComposer from "nodemailer/lib/mail-composer/index.js";
import { bankDateTime, TERMS } from "../terms.js";

export interface SetupMail {
  /** The bank's sending domain (a bank setting): the From address is no-reply@ it. */
  domain: string;
  /** Validated by the bank: printable ASCII, dot-atom local part. */
  to: string;
  serviceId: string;
  userId: string;
  /** Unix seconds. */
  date: number;
  /** Unix seconds: the issue must be activated and confirmed before then. */
  expiresAt: number;
}

const T = TERMS;

export const SETUP_MAIL_SUBJECT = `【${T.tokenIssue.ja}】ワンタイムパスワードの設定のご案内 / One-time password token set-up`;

/** The text of the set-up mail: Japanese, then English. */
export function setupMailText(mail: SetupMail): string {
  return [
    `インターネットバンキングの${T.tokenIssue.ja}を受け付けました。`,
    "",
    `トークンに次の${T.serviceId.ja}と${T.userId.ja}、及び${T.tokenIssue.ja}の画面で設定した${T.activationPassword.ja}を入力し、`,
    `「${T.agree.ja}」に「レ」点を入れて「${T.send.ja}」を押し、続けて「${T.register.ja}」を押してください。`,
    "",
    `  ${T.serviceId.ja}　${mail.serviceId}`,
    `  ${T.userId.ja}　　${mail.userId}`,
    `  ${T.activationPassword.ja}　${T.tokenIssue.ja}の画面で設定したもの（このメールには記載していません）`,
    "",
    `トークンに${T.oneTimePassword.ja}が表示されたら、「${T.confirmScreen.ja}」の画面に入力し、「${T.confirmButton.ja}」ボタンを押してください。`,
    `${bankDateTime(mail.expiresAt)}までに設定してください。過ぎた場合は、もう一度${T.tokenIssue.ja}を行ってください。`,
    "",
    "お心当たりのない場合は、銀行までご連絡ください。お使いのトークンは引き続きご利用いただけます。",
    "",
    "----",
    "A one-time password token was issued for your internet banking.",
    "",
    "On the token, enter the Service ID and User ID below and the activation password you chose on the",
    `token issue screen, tick "I agree", press "Send", then press "Register".`,
    "",
    `  Service ID:          ${mail.serviceId}`,
    `  User ID:             ${mail.userId}`,
    "  Activation password: the one you chose on the token issue screen (not written in this mail)",
    "",
    `Then type the password the token shows into the bank's "${T.confirmScreen.en}" screen and press "${T.confirmButton.en}".`,
    `Set the token up by ${new Date(mail.expiresAt * 1000).toISOString().replace(/\.\d+Z$/, "Z")}; after that, issue a new token.`,
    "",
    "If you did not ask for this, contact the bank; your current token keeps working.",
    "",
  ].join("\n");
}

/** The whole RFC 5322 message (CRLF line ends). */
export async function composeSetupMail(mail: SetupMail): Promise<Buffer> {
  const composer = new MailComposer({
    from: { name: "インターネットバンキング", address: `no-reply@${mail.domain}` },
    to: mail.to,
    subject: SETUP_MAIL_SUBJECT,
    date: new Date(mail.date * 1000),
    messageId: `<${randomBytes(16).toString("hex")}@${mail.domain}>`,
    text: setupMailText(mail),
    textEncoding: "base64",
  });
  return composer.compile().build();
}

/** The notice a re-set-up sends to the address the customer registered before (issue 19, item 4). */
export interface NewTokenNotice {
  domain: string;
  /** The customer's address on record (the mail of their current token's issue). */
  to: string;
  /** The User ID the customer had (the notice names it, not the new one). */
  previousUserId: string;
  date: number;
}

export const NEW_TOKEN_NOTICE_SUBJECT = `【${T.tokenIssue.ja}】新しいトークンの発行のお知らせ / A new token was issued`;

/** The text of the notice: Japanese, then English. It names no new User ID and no address it was sent to. */
export function newTokenNoticeText(notice: NewTokenNotice): string {
  return [
    `お客さま（${T.userId.ja}　${notice.previousUserId}）のインターネットバンキングで、${bankDateTime(notice.date)}に新しいトークンの${T.tokenIssue.ja}を受け付けました。`,
    "設定のご案内は、その際にご指定のメールアドレスにお送りしています。",
    "",
    "お心当たりのない場合は、至急銀行までご連絡ください。新しいトークンの設定が済むまで、お使いのトークンは引き続きご利用いただけます。",
    "",
    "----",
    `A new one-time password token was issued for your internet banking (User ID ${notice.previousUserId}) at ${new Date(notice.date * 1000).toISOString().replace(/\.\d+Z$/, "Z")}.`,
    "The set-up instructions went to the mail address given at that issue.",
    "",
    "If you did not ask for this, contact the bank at once; your current token keeps working until the new one is set up.",
    "",
  ].join("\n");
}

/** The notice as an RFC 5322 message (CRLF line ends). */
export async function composeNewTokenNotice(notice: NewTokenNotice): Promise<Buffer> {
  const composer = new MailComposer({
    from: { name: "インターネットバンキング", address: `no-reply@${notice.domain}` },
    to: notice.to,
    subject: NEW_TOKEN_NOTICE_SUBJECT,
    date: new Date(notice.date * 1000),
    messageId: `<${randomBytes(16).toString("hex")}@${notice.domain}>`,
    text: newTokenNoticeText(notice),
    textEncoding: "base64",
  });
  return composer.compile().build();
}

/** Outbox file names: `<unix seconds>-<16 hex digits>.eml`, the random part so a name cannot be guessed. */
export const OUTBOX_NAME = /^([0-9]{1,12})-([0-9a-f]{16})\.eml$/;

/** Writes a mail into `dir` (created 0700 if missing), 0600, atomically: a reader never sees half a message. Returns its id (file name). */
export function writeToOutbox(dir: string, date: number, content: Uint8Array): string {
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  }
  const id = `${date}-${randomBytes(8).toString("hex")}.eml`;
  const path = join(dir, id);
  const partial = `${path}.partial`;
  writeFileSync(partial, content, { mode: 0o600 });
  renameSync(partial, path);
  return id;
}

export interface MailSummary {
  id: string;
  to: string;
  subject: string;
  date: string;
}

/** An RFC 2047 encoded-word header value decoded (UTF-8, B or Q), as MailComposer writes them. */
function decodeHeader(value: string): string {
  return value.replace(/=\?utf-8\?([bq])\?([^?]*)\?=\s*/gi, (_, encoding: string, text: string) =>
    encoding.toLowerCase() === "b"
      ? Buffer.from(text, "base64").toString("utf8")
      : Buffer.from(
          text.replace(/_/g, " ").replace(/=([0-9a-f]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
          "latin1",
        ).toString("utf8"),
  );
}

export function mailSummary(id: string, text: string): MailSummary {
  // Folded header lines (RFC 5322 §2.2.3) are unfolded first.
  const head = text.split(/\r?\n\r?\n/)[0].replace(/\r?\n[ \t]+/g, " ");
  const header = (name: string) => new RegExp(`^${name}: (.*)$`, "mi").exec(head)?.[1]?.trim() ?? "";
  return { id, to: header("To").replace(/^<|>$/g, ""), subject: decodeHeader(header("Subject")), date: header("Date") };
}

/**
 * One page of the outbox, newest first: only the page's files are read (the names carry the time),
 * so a folder of thousands of mails costs one directory listing.
 */
export function listOutbox(
  dir: string | undefined,
  page = 0,
  pageSize = 20,
): { total: number; page: number; pageSize: number; mails: MailSummary[] } {
  if (dir === undefined || !existsSync(dir)) return { total: 0, page, pageSize, mails: [] };
  const names = readdirSync(dir).filter((name) => OUTBOX_NAME.test(name));
  names.sort((a, b) => Number(b.split("-")[0]) - Number(a.split("-")[0]) || b.localeCompare(a));
  const slice = names.slice(page * pageSize, (page + 1) * pageSize);
  return { total: names.length, page, pageSize, mails: slice.map((name) => mailSummary(name, readFileSync(join(dir, name), "utf8"))) };
}

/** One mail by its id, or undefined. Nothing but an outbox name is ever opened. */
export function readOutboxMail(dir: string | undefined, id: string): (MailSummary & { text: string }) | undefined {
  if (dir === undefined || !OUTBOX_NAME.test(id) || !existsSync(join(dir, id))) return undefined;
  const raw = readFileSync(join(dir, id), "utf8");
  return { ...mailSummary(id, raw), text: decodeBody(raw) };
}

/** The mail's text body, decoded from its Content-Transfer-Encoding, for showing in the simulator. */
export function decodeBody(raw: string): string {
  const split = raw.search(/\r?\n\r?\n/);
  const head = raw.slice(0, split).replace(/\r?\n[ \t]+/g, " ");
  const body = raw.slice(split).replace(/^\r?\n\r?\n/, "");
  const encoding = /^Content-Transfer-Encoding: *(\S+)/im.exec(head)?.[1]?.toLowerCase();
  if (encoding === "base64") return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
  if (encoding === "quoted-printable") {
    return Buffer.from(
      body.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
      "latin1",
    ).toString("utf8");
  }
  return body;
}
