// The forms of what the holder types and the bank shows (docs/design.md, "Reference values"), defined once
// for the bank, the token's link, the command line and the browser page (this file imports nothing,
// so the page's bundle can take it). The firmware checks the same forms in assembly/device/.

/** Service ID: 8 digits naming the bank's service (a bank setting, the same for all its customers), e.g. 10212083. */
export const SERVICE_ID_PATTERN = /^[0-9]{8}$/;
/**
 * User ID as it travels (the token's link, the activation request, input boxes): 16 upper-case
 * letters and digits. That takes both the form the bank issues (USER_ID_FORM) and the 16 random
 * letters and digits of tokens set up before it (schema 1 of the bank's store), which keep working.
 */
export const USER_ID_PATTERN = /^[0-9A-Z]{16}$/;
/**
 * The User ID the bank issues, as its manual shows it (2083L0000193A001): the last 4 digits of the
 * Service ID, "L", the 7-digit customer number, "A", the 3-digit issue number (001 for a customer's
 * first token issue, 002 for a re-set-up, ...). Digits only apart from L and A: nothing to confuse.
 */
export const USER_ID_FORM = /^([0-9]{4})L([0-9]{7})A([0-9]{3})$/;
/** One line for help texts and messages. */
export const USER_ID_HELP =
  "16 characters: the last 4 digits of the Service ID, L, a 7-digit customer number, A, a 3-digit issue number (e.g. 2083L0000193A001)";

/** The User ID of a customer's `issueNumber`-th token issue (1-999) at the bank whose Service ID is `serviceId`. */
export function makeUserId(serviceId: string, customerNumber: string, issueNumber: number): string {
  return `${serviceId.slice(-4)}L${customerNumber}A${String(issueNumber).padStart(3, "0")}`;
}
/** Activation password: 4-8 half-width letters and digits. */
export const ACTIVATION_PASSWORD_PATTERN = /^[A-Za-z0-9]{4,8}$/;
/** A profile label: 1-12 characters the token's font draws. */
export const LABEL_PATTERN = /^[A-Z0-9 \-./:]{1,12}$/;

// Dots anywhere in the local part: older Japanese mobile addresses have "a..b." before the '@'.
// '<', '>' and spaces are refused, so an address cannot break a mail header.
const MAIL_LOCAL = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]+$/;
const MAIL_DOMAIN = /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/;

/** The first rule of the issue screen a mail address breaks (the bank's error code), or null. */
export function mailProblem(mail: string): "mail-length" | "mail-characters" | "mail-format" | null {
  if (typeof mail !== "string" || mail.length < 4 || mail.length > 64) return "mail-length";
  if (!/^[\x21-\x7e]+$/.test(mail)) return "mail-characters";
  const at = mail.indexOf("@");
  if (at < 0 || mail.indexOf("@", at + 1) >= 0 || !MAIL_LOCAL.test(mail.slice(0, at)) || !MAIL_DOMAIN.test(mail.slice(at + 1)))
    return "mail-format";
  return null;
}

/** The first rule of the issue screen an activation password breaks (the bank's error code), or null. */
export function passwordProblem(password: string): "password-length" | "password-characters" | null {
  if (typeof password !== "string" || password.length < 4 || password.length > 8) return "password-length";
  if (!/^[A-Za-z0-9]+$/.test(password)) return "password-characters";
  return null;
}

/**
 * A one-time password as typed: Unicode NFKC turns full-width digits (a Japanese input method's
 * "１２３４５６") into the digits they are, and spaces ("123 456") are dropped. The result still goes
 * through the bank's own check of the digits.
 */
export function typedCode(text: string): string {
  return text.normalize("NFKC").replace(/\s+/g, "");
}
