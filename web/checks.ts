// The issue screen's rules, checked in the page so the holder sees each problem at once. A convenience
// only: the server applies the same rules (host/bank/bank.ts validateMail / validatePassword) and is
// the guard. Each function returns the bank's error code for the first rule broken, or null.

const MAIL_LOCAL = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]+$/;
const MAIL_DOMAIN = /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/;

export function mailProblem(mail: string): string | null {
  if (mail.length < 4 || mail.length > 64) return "mail-length";
  if (!/^[\x21-\x7e]+$/.test(mail)) return "mail-characters";
  const at = mail.indexOf("@");
  if (at < 0 || mail.indexOf("@", at + 1) >= 0 || !MAIL_LOCAL.test(mail.slice(0, at)) || !MAIL_DOMAIN.test(mail.slice(at + 1))) return "mail-format";
  return null;
}

export function passwordProblem(password: string): string | null {
  if (password.length < 4 || password.length > 8) return "password-length";
  if (!/^[A-Za-z0-9]+$/.test(password)) return "password-characters";
  return null;
}

export const SERVICE_ID = /^[0-9]{8}$/;
export const USER_ID = /^[0-9A-Z]{16}$/;
export const CODE = /^[0-9]{6,8}$/;
