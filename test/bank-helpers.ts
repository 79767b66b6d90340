// The token side of activation (docs/activation.md, protocol v2: CPace) for the bank's, the service's
// and the CLI's tests: test/reference-cpace.ts, written from the document, the CFRG draft and RFC 9380
// with node:crypto, not from host/bank (whose half uses @noble/curves) nor from the firmware.
import type { ActivationAnswer, Bank } from "../host/bank/bank.js";
import { otpApi } from "../host/otp.js";
import { referenceFinish, referenceRequest, type ReferenceResult, type ReferenceSession } from "./reference-cpace.js";

export type TokenSession = ReferenceSession;
export type TokenProfile = Pick<ReferenceResult, "seed" | "algorithm" | "digits" | "period" | "label"> & Partial<ReferenceResult>;

/** 送信 on a token with this serial: message 1 (`request`) and what the token keeps for 登録. */
export function tokenRequest(serviceId: string, userId: string, password: string, serial = 0x0123456789abcdefn): TokenSession {
  return referenceRequest(serviceId, userId, password, serial);
}

/** 登録: the token checks the bank's answer (throws where the token refuses it) and derives the seed and message 3. */
export function tokenFinish(session: TokenSession, answer: Uint8Array | ActivationAnswer): ReferenceResult {
  return referenceFinish(session, answer instanceof Uint8Array ? answer : answer.response);
}

/** 送信 and 登録 with the right password: the token's profile, its confirmation accepted by the bank. */
export async function activateToken(
  bank: Bank,
  serviceId: string,
  userId: string,
  password: string,
  serial?: bigint,
): Promise<ReferenceResult> {
  const session = tokenRequest(serviceId, userId, password, serial);
  const token = tokenFinish(session, await bank.activate(session.request));
  await bank.register(token.confirmation);
  return token;
}

const api = otpApi();
export const codeAt = (token: TokenProfile, t: number) =>
  api.totp(token.seed, t, { algorithm: token.algorithm, digits: token.digits, period: token.period });
export const otherThan = (code: string) => (code === "999999" ? "999998" : "999999");
