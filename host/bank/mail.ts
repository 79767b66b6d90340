// The set-up mail (procedure step 3): an RFC 5322 message written into the outbox folder, one file
// per message, for whatever sends mail to pick up. It carries the set-up URL and the two IDs, and
// says the activation password is the one chosen on the issue screen: it never contains the password.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface SetupMail {
  from: string;
  /** Validated by the bank: printable ASCII, dot-atom local part, so it cannot break a header. */
  to: string;
  serviceId: string;
  userId: string;
  setupUrl: string;
  /** Unix seconds. */
  date: number;
  expiresAt: number;
  /** Without angle brackets, e.g. "3f2a...@bank.example". */
  messageId: string;
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** RFC 5322 §3.3 date-time in UTC: "Tue, 01 Jan 2030 00:00:00 +0000". */
export function rfc5322Date(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${DAYS[d.getUTCDay()]}, ${two(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}

/** The whole message, CRLF line ends (RFC 5322 §2.1), 7-bit text declared as UTF-8. */
export function composeSetupMail(mail: SetupMail): string {
  const headers = [
    `From: ${mail.from}`,
    `To: <${mail.to}>`,
    "Subject: One-time password token set-up",
    `Date: ${rfc5322Date(mail.date)}`,
    `Message-ID: <${mail.messageId}>`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=UTF-8",
    "Content-Transfer-Encoding: 7bit",
  ];
  const body = [
    "A one-time password token was issued for your internet banking.",
    "",
    "Open the token set-up URL below on your token and enter:",
    "",
    `  Set-up URL: ${mail.setupUrl}`,
    `  Service ID: ${mail.serviceId}`,
    `  User ID:    ${mail.userId}`,
    "  Activation password: the one you chose on the token issue screen",
    "                       (it is not written in this mail).",
    "",
    `Set the token up by ${rfc5322Date(mail.expiresAt)}; after that, issue a new token.`,
    "Then type the password the token shows into the bank's confirmation screen.",
    "",
    "If you did not ask for this, contact the bank; your current token keeps working.",
  ];
  return `${headers.join("\r\n")}\r\n\r\n${body.join("\r\n")}\r\n`;
}

/** Writes `content` as `name` into `dir` (created if missing), atomically: a reader never sees half a message. */
export function writeToOutbox(dir: string, name: string, content: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  const partial = `${path}.partial`;
  writeFileSync(partial, content, { encoding: "utf8", mode: 0o600 });
  renameSync(partial, path);
  return path;
}
