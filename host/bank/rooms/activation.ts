// The activation room (docs/activation.md, "Rules", the bank): 送信 answers the token's CPace
// message 1 with message 2, 登録 takes its message 3 and makes the run's seed the issue's pending
// token. Reached by POST /v1/activations and /v1/registrations, `token activate`, `bank activate`,
// the simulators' registration, the demo.
import { aad } from "../crypto.js";
import { BankError } from "../errors.js";
import { NOTICES } from "../notices.js";
import {
  type ActivationConfirmation,
  type ActivationRequest,
  answerRequest,
  type BankSession,
  decodeConfirmation,
  decodeRequest,
  type OtpParameters,
  ProtocolError,
  SEED_BYTES,
  TAG_BYTES,
  tagsEqual,
} from "../protocol.js";
import type { IssueRow, StoreTx } from "../store.js";
import { type AuditWriter, type BankContext, issueRefusal, type Outcome, refuse, serialHex, sha256, unwrap } from "./shared.js";

/** The bank's answer to an activation request (送信). */
export interface ActivationAnswer {
  /** Message 2, for the token's 登録. */
  response: Uint8Array;
  /**
   * Attempts left before the issue is void if the token refuses this answer (a wrong activation
   * password shows only there): this attempt is counted until the token's confirmation takes it back.
   */
  attemptsLeft: number;
}

export class Activation {
  constructor(
    private readonly ctx: Pick<BankContext, "store" | "masterKey" | "config" | "now" | "random" | "actor">,
    private readonly audit: AuditWriter,
  ) {}

  /**
   * 送信 on the token: answers an activation request (message 1) with message 2, or refuses it with a
   * BankError. A request answered before is answered again with the same message 2 and counts nothing.
   *
   * The bank cannot tell a wrong activation password (that is what CPace is for): the attempt is
   * counted here, and only the token's confirmation (`register`, message 3) takes it back. So
   * `attemptsLeft` is what remains if the token refuses this answer at 登録 (a wrong password):
   * 0 means this was the last attempt, and a refusal leaves the issue void.
   */
  async activate(requestBytes: Uint8Array, by = this.ctx.actor): Promise<ActivationAnswer> {
    let request: ActivationRequest;
    try {
      request = decodeRequest(requestBytes);
    } catch (error) {
      if (error instanceof ProtocolError) throw new BankError("malformed", `malformed activation request: ${error.message}`);
      throw error;
    }
    const { serviceId, userId } = request;
    const requestHash = sha256(requestBytes);
    const now = this.ctx.now();
    const limit = this.ctx.config.maxActivationFailures;
    // Rules 2-5, committed before any CPace work: a crash after this leaves the attempt counted.
    const counted = unwrap(
      await this.ctx.store.transaction(
        async (tx): Promise<Outcome<{ answered: ActivationAnswer } | { issue: IssueRow; failures: number }>> => {
          // An expired issue keeps no secret: its password, its runs' secrets and its pending seed go at the first touch after expiry.
          await tx.forgetExpired(now);
          const issue = await tx.issueFor(serviceId, userId);
          // A repeated request of a live issue is answered again whatever the count: it is no new attempt.
          if (issue?.state === "pending" && now < issue.expires_at) {
            const repeated = await this.repeatedRequest(tx, issue, request.sid, requestHash);
            if (repeated) return "error" in repeated ? repeated : { value: repeated };
          }
          const refused = issueRefusal(issue, now, limit);
          if (refused) {
            // The request after the last counted attempt voids the issue (its password is forgotten).
            if (refused.code === "issue-void" && issue?.state === "pending") {
              await tx.voidIssue(issue.issue_id, "failures");
              await this.audit.append(tx, now, "issue-void", serviceId, userId, by, `failed attempts ${issue.failed_attempts}`);
            }
            return { error: refused };
          }
          // A pending issue of protocol v1 whose token awaits its first code: its K_AC was no password.
          if (issue!.activation_key === null) return { error: refuse("issue-void", NOTICES.issueVoid("protocol-v1"), { attemptsLeft: 0 }) };
          const failures = await tx.countIssueFailure(issue!.issue_id);
          return { value: { issue: issue!, failures } };
        },
      ),
    );
    if ("answered" in counted) return counted.answered;
    const { issue, failures } = counted;
    const params: OtpParameters = { algorithm: issue.algorithm, digits: issue.digits, period: issue.period, label: issue.label };
    const password = this.ctx.masterKey.open(issue.activation_key!, aad.activationPassword(serviceId, userId));
    let session: BankSession;
    try {
      session = answerRequest(request, password, params, this.ctx.random);
    } catch (error) {
      // Ya is a low-order point: CPace aborts (rule 6; the attempt stays counted).
      if (error instanceof ProtocolError) throw new BankError("malformed", `malformed activation request: ${error.message}`);
      throw error;
    } finally {
      password.fill(0);
    }
    const serial = serialHex(request.serial);
    const secrets = Buffer.concat([session.expectedTokenTag, session.seed]);
    const sealed = this.ctx.masterKey.seal(secrets, aad.activationSession(serviceId, userId, serial, request.sid));
    secrets.fill(0);
    session.seed.fill(0);
    session.expectedTokenTag.fill(0);
    return unwrap(
      await this.ctx.store.transaction(async (tx): Promise<Outcome<ActivationAnswer>> => {
        // Re-checked under the lock: another process may have voided or completed the issue, or answered
        // the same request, meanwhile (then its answer stands and this attempt is taken back).
        const current = await tx.issueFor(serviceId, userId);
        const refused = issueRefusal(current, now, limit, 1);
        if (refused) return { error: refused };
        const inserted = await tx.insertActivationSession({
          issue_id: issue.issue_id,
          sid: request.sid,
          request_hash: requestHash,
          serial,
          response: session.response,
          secrets: sealed,
          answered_at: now,
        });
        if (!inserted) {
          await tx.uncountIssueFailure(issue.issue_id);
          const earlier = await this.repeatedRequest(
            tx,
            { ...current!, failed_attempts: current!.failed_attempts - 1 },
            request.sid,
            requestHash,
          );
          return earlier && "error" in earlier ? earlier : { value: earlier!.answered };
        }
        await this.audit.append(
          tx,
          now,
          "activation-answered",
          serviceId,
          userId,
          by,
          `serial ${serial}; failed attempts ${failures} until the token confirms`,
        );
        return { value: { response: session.response, attemptsLeft: Math.max(limit - failures, 0) } };
      }),
    );
  }

  /**
   * A request whose session id this issue has seen: the same bytes are answered again (nothing counted,
   * nothing changed); other bytes under that session id are refused, also without counting.
   */
  private async repeatedRequest(
    tx: StoreTx,
    issue: IssueRow,
    sid: Uint8Array,
    requestHash: Uint8Array,
  ): Promise<{ answered: ActivationAnswer } | { error: BankError } | null> {
    const session = await tx.getActivationSession(issue.issue_id, sid);
    if (!session) return null;
    if (tagsEqual(session.request_hash, requestHash)) {
      const attemptsLeft = Math.max(this.ctx.config.maxActivationFailures - issue.failed_attempts, 0);
      return { answered: { response: new Uint8Array(session.response), attemptsLeft } };
    }
    return {
      error: new BankError(
        "replayed",
        "this activation session was already answered for another request: start the activation again on the token",
      ),
    };
  }

  /**
   * 登録 on the token: its confirmation (message 3), which it sends after it has checked the bank's
   * confirmation and stored the profile. When Ta matches, the counted attempt is taken back and the
   * token becomes the issue's pending token, awaiting its first code (step 6). A confirmation already
   * accepted is accepted again without change. Returns the token's serial (16 hex digits).
   */
  async register(confirmationBytes: Uint8Array, by = this.ctx.actor): Promise<{ serial: string }> {
    let confirmation: ActivationConfirmation;
    try {
      confirmation = decodeConfirmation(confirmationBytes);
    } catch (error) {
      if (error instanceof ProtocolError) throw new BankError("malformed", `malformed activation confirmation: ${error.message}`);
      throw error;
    }
    const { serviceId, userId, sid } = confirmation;
    const now = this.ctx.now();
    const { masterKey } = this.ctx;
    return unwrap(
      await this.ctx.store.transaction(async (tx): Promise<Outcome<{ serial: string }>> => {
        await tx.forgetExpired(now);
        const issue = await tx.issueFor(serviceId, userId);
        const session = issue ? await tx.getActivationSession(issue.issue_id, sid) : undefined;
        // An unconfirmed run's own attempt is still in the count: it may be the one that brings it to the limit.
        const refused = issueRefusal(issue, now, this.ctx.config.maxActivationFailures, session && session.confirmed_at === null ? 1 : 0);
        if (refused) return { error: refused };
        if (!session || session.secrets === null) {
          return {
            error: new BankError("unknown", "no activation of this issue has this session: send the activation from the token again"),
          };
        }
        const secrets = masterKey.open(session.secrets, aad.activationSession(serviceId, userId, session.serial, sid));
        try {
          if (!tagsEqual(secrets.subarray(0, TAG_BYTES), confirmation.tag)) {
            await this.audit.append(tx, now, "activation-wrong-confirmation", serviceId, userId, by, `serial ${session.serial}`);
            return { error: refuse("wrong-confirmation", NOTICES.wrongConfirmation()) };
          }
          if (session.confirmed_at !== null) return { value: { serial: session.serial } };
          const seed = secrets.subarray(TAG_BYTES, TAG_BYTES + SEED_BYTES[issue!.algorithm]);
          await tx.uncountIssueFailure(issue!.issue_id);
          await tx.confirmActivationSession(issue!.issue_id, sid, now);
          await tx.setPendingToken(
            issue!.issue_id,
            session.serial,
            masterKey.seal(seed, aad.pendingSeed(serviceId, userId, session.serial)),
            now,
          );
          await this.audit.append(tx, now, "activated", serviceId, userId, by, `serial ${session.serial}; awaiting first code`);
          return { value: { serial: session.serial } };
        } finally {
          secrets.fill(0);
        }
      }),
    );
  }
}
