// The issuing room: トークン発行 (procedure steps 2-3, docs/design.md), a new customer's first issue
// and a re-set-up's next issue number; "back" (戻る) issuing again voids the older pending issues; the
// set-up mail. Reached by POST /v1/issues, `bank issue`, the browser bank's issue screen, the demo.
import { mailProblem, makeUserId, passwordProblem, SERVICE_ID_PATTERN, USER_ID_PATTERN } from "../../identity.js";
import { otpParametersFor } from "../config.js";
import { aad } from "../crypto.js";
import { BankError } from "../errors.js";
import { NOTICES } from "../notices.js";
import { composeNewTokenNotice, composeSetupMail, writeToOutbox } from "../mail.js";
import type { OtpParameters } from "../protocol.js";
import { TERMS } from "../../terms.js";
import { type AuditWriter, type BankContext, type Outcome, refuse, type SettingsView, unwrap } from "./shared.js";

export interface IssueInput {
  mail: string;
  mailConfirm: string;
  password: string;
  passwordConfirm: string;
  /** OTP parameters for this token; unset fields come from the bank's config. */
  otp?: Partial<OtpParameters>;
  /** A re-set-up: a User ID of the customer (their current token's). Omitted for a new customer. */
  userId?: string;
  /**
   * The customer this issue is for, by its 7-digit number (a logged-in customer, or one the bank's
   * backend named): its next issue number, a re-set-up when it has had a token.
   */
  customerNumber?: string;
}

export interface IssueResult {
  serviceId: string;
  userId: string;
  mail: string;
  /** Unix seconds: activate and confirm before then. */
  expiresAt: number;
  /** Unix seconds: the token made from this issue is refused from then on. */
  tokenExpiresAt: number;
  /** The set-up mail's id in the outbox (its file name), when an outbox is configured. */
  mailId?: string;
  /** The set-up mail's file, when an outbox is configured. */
  mailFile?: string;
  /** A re-set-up: the id of the notice mailed to the customer's address on record (outbox configured). */
  noticeMailId?: string;
  /** That notice's file. */
  noticeMailFile?: string;
}

const NO_CUSTOMER = "no customer has this User ID: a re-set-up needs the User ID of the customer's current token";

export class Issuing {
  constructor(
    private readonly ctx: Pick<BankContext, "store" | "masterKey" | "config" | "now" | "actor">,
    private readonly audit: AuditWriter,
    private readonly settings: SettingsView,
  ) {}

  /** 戻る: voids the customer's pending issue at `userId` (nothing when it is no longer pending). */
  withdraw(customerNumber: string, userId: string, by = this.ctx.actor): Promise<void> {
    return withdrawIssue(this.ctx, this.audit, customerNumber, userId, by);
  }

  /** "Issue token": validates the screen, creates the issue and its User ID, mails the set-up instructions. */
  async issue(input: IssueInput, by = this.ctx.actor): Promise<IssueResult> {
    validateMail(input.mail, input.mailConfirm);
    validatePassword(input.password, input.passwordConfirm);
    const otp = otpParametersFor(this.ctx.config.otp, input.otp);
    if (input.userId !== undefined && (typeof input.userId !== "string" || !USER_ID_PATTERN.test(input.userId))) {
      throw new BankError("unknown", NO_CUSTOMER);
    }
    const serviceId = this.settings.serviceId;
    if (!SERVICE_ID_PATTERN.test(serviceId))
      throw new BankError("settings", "this bank has no Service ID: set one with 'otp-token bank settings --service-id ID'");
    const now = this.ctx.now();
    const expiresAt = now + this.ctx.config.issueTtlSeconds;
    const tokenExpiresAt = now + this.ctx.config.tokenLifetimeSeconds;
    const { userId, registeredMail } = unwrap(
      await this.ctx.store.transaction(async (tx): Promise<Outcome<{ userId: string; registeredMail: string | null }>> => {
        // An expired issue keeps no secret: its password and pending seed go at the first touch after expiry.
        await tx.forgetExpired(now);
        const customer =
          input.customerNumber !== undefined
            ? await tx.customerByNumber(input.customerNumber)
            : input.userId !== undefined
              ? await tx.customerOf(input.userId)
              : await tx.insertCustomer(now);
        if (!customer) {
          return input.userId !== undefined || input.customerNumber !== undefined
            ? { error: new BankError("unknown", NO_CUSTOMER) }
            : { error: new BankError("issue-numbers-used", "every 7-digit customer number is taken") };
        }
        if (customer.issues_made >= 999) {
          return { error: new BankError("issue-numbers-used", "this customer has had 999 token issues, the most a User ID can number") };
        }
        // A re-set-up: the address on record is the one of the customer's current token's issue (or,
        // before any token, of the User ID given); it gets the "new token issued" notice.
        let registeredMail: string | null = null;
        if (input.userId !== undefined) {
          const current = await tx.tokenOfCustomer(customer.customer_id);
          registeredMail = (await tx.latestIssue(current?.user_id ?? input.userId))?.mail ?? null;
        }
        const customerNumber = customer.customer_number ?? (await tx.assignCustomerNumber(customer.customer_id));
        const issueNumber = await tx.nextIssueNumber(customer.customer_id);
        const userId = makeUserId(serviceId, customerNumber, issueNumber);
        if (await tx.userIdTaken(userId)) throw new Error(`User ID ${userId} is already taken: the customer numbers are inconsistent`);
        // "Back" on the issue screen issues again: the older pending issues of this customer stop working.
        for (const older of await tx.pendingIssuesOf(customer.customer_id)) {
          await tx.voidIssue(older.issue_id, "superseded");
          await this.audit.append(tx, now, "issue-superseded", older.service_id, older.user_id, by, `by ${userId}`);
        }
        // CPace's PRS is the password itself (docs/activation.md): kept sealed until the issue is
        // completed, void or expired.
        const password = new Uint8Array(Buffer.from(input.password, "latin1"));
        const sealed = this.ctx.masterKey.seal(password, aad.activationPassword(serviceId, userId));
        password.fill(0);
        await tx.insertIssue({
          service_id: serviceId,
          user_id: userId,
          customer_id: customer.customer_id,
          issue_number: issueNumber,
          mail: input.mail,
          created_at: now,
          expires_at: expiresAt,
          token_expires_at: tokenExpiresAt,
          activation_key: sealed,
          ...otp,
        });
        await this.audit.append(
          tx,
          now,
          "issued",
          serviceId,
          userId,
          by,
          `expires ${expiresAt}; token expires ${tokenExpiresAt}; ${otp.algorithm}/${otp.digits}/${otp.period}s`,
        );
        return { value: { userId, registeredMail } };
      }),
    );
    const result: IssueResult = { serviceId, userId, mail: input.mail, expiresAt, tokenExpiresAt };
    const outboxDir = this.ctx.config.outboxDir;
    if (outboxDir !== undefined) {
      const message = await composeSetupMail({ domain: this.settings.mailDomain, to: input.mail, serviceId, userId, date: now, expiresAt });
      result.mailId = writeToOutbox(outboxDir, now, message);
      result.mailFile = `${outboxDir}/${result.mailId}`;
      if (registeredMail !== null && input.userId !== undefined) {
        const notice = await composeNewTokenNotice({
          domain: this.settings.mailDomain,
          to: registeredMail,
          previousUserId: input.userId,
          date: now,
        });
        result.noticeMailId = writeToOutbox(outboxDir, now, notice);
        result.noticeMailFile = `${outboxDir}/${result.noticeMailId}`;
      }
    }
    return result;
  }
}

/** 戻る on the 認証確認 screen: the issue it leaves can no longer be activated or confirmed. */
export async function withdrawIssue(
  ctx: Pick<BankContext, "store" | "now" | "actor">,
  audit: AuditWriter,
  customerNumber: string,
  userId: string,
  by = ctx.actor,
): Promise<void> {
  unwrap(
    await ctx.store.transaction(async (tx): Promise<Outcome<void>> => {
      const issue = typeof userId === "string" && USER_ID_PATTERN.test(userId) ? await tx.latestIssue(userId) : undefined;
      const customer = issue ? await tx.customerByNumber(customerNumber) : undefined;
      if (!issue || !customer || customer.customer_id !== issue.customer_id) return { error: refuse("unknown", NOTICES.noIssue()) };
      if (issue.state !== "pending") return { value: undefined };
      await tx.voidIssue(issue.issue_id, "withdrawn");
      await audit.append(tx, ctx.now(), "issue-withdrawn", issue.service_id, issue.user_id, by, "戻る");
      return { value: undefined };
    }),
  );
}

/** The issue screen's mail rules, one error each (docs/design.md, "Reference values"), in English and the manual's Japanese. */
const MAIL_MESSAGES = {
  "mail-length": {
    en: "mail address must be 4-64 characters",
    ja: `${TERMS.mobileMail.ja}は${TERMS.mailHint.ja}で入力してください。`,
  },
  "mail-characters": {
    en: "mail address must be half-width letters, digits and symbols only (no spaces or full-width characters)",
    ja: `${TERMS.mobileMail.ja}は半角英数字記号で入力してください（空白・全角文字は使えません）。`,
  },
  "mail-format": {
    en: "mail address must look like name@example.jp: one '@', with a name before it and a domain after it",
    ja: `${TERMS.mobileMail.ja}は name@example.jp の形で入力してください。`,
  },
} as const;

const PASSWORD_MESSAGES = {
  "password-length": {
    en: "activation password must be 4-8 characters",
    ja: `${TERMS.activationPassword.ja}は${TERMS.passwordHint.ja}で入力してください。`,
  },
  "password-characters": {
    en: "activation password must be half-width letters and digits only",
    ja: `${TERMS.activationPassword.ja}は半角英数字で入力してください。`,
  },
} as const;

/** The issue screen's mail rules (host/identity.ts), each with its own code and message. */
export function validateMail(mail: string, confirm: string): void {
  const problem = mailProblem(mail);
  if (problem) throw refuse(problem, MAIL_MESSAGES[problem]);
  if (confirm !== mail) {
    throw refuse("mail-mismatch", {
      en: "the two mail addresses differ: type the same address twice",
      ja: `${TERMS.mobileMail.ja}が一致しません。同じものを2回入力してください。`,
    });
  }
}

/** The issue screen's activation password rules (host/identity.ts), each with its own code and message. */
export function validatePassword(password: string, confirm: string): void {
  const problem = passwordProblem(password);
  if (problem) throw refuse(problem, PASSWORD_MESSAGES[problem]);
  if (confirm !== password) {
    throw refuse("password-mismatch", {
      en: "the two activation passwords differ: type the same password twice",
      ja: `${TERMS.activationPassword.ja}が一致しません。同じものを2回入力してください。`,
    });
  }
}
