// The token side of activation protocol v2 (docs/activation.md) for the bank's tests and the service's
// tests: test/reference-cpace.ts, written from the document and the CPace draft with node:crypto and
// plain bigint arithmetic, not from host/bank. A token sends message 1, checks message 2 (a wrong
// password fails here, as on the real token) and answers message 3.
import { otpApi } from "../host/otp.js";
import { referenceFinish, referenceRequest, type ReferenceResult, type ReferenceSession } from "./reference-cpace.js";

export type TokenSession = ReferenceSession;
export type TokenProfile = ReferenceResult;

/** 送信: message 1 of a token with this serial; `request` is the bytes for the bank. */
export function tokenRequest(serviceId: string, userId: string, password: string, serial = 0x0123456789abcdefn): TokenSession {
  return referenceRequest(serviceId, userId, password, serial);
}

/**
 * 登録 on the token: checks the bank's message 2 (given as bytes, or as Bank.activate's answer) and
 * derives the profile; `confirmation` is message 3 for the bank. Throws where the token refuses (a
 * wrong activation password: the bank's confirmation does not verify).
 */
export function tokenFinish(session: TokenSession, answer: Uint8Array | { response: Uint8Array }): TokenProfile {
  return referenceFinish(session, answer instanceof Uint8Array ? answer : answer.response);
}

/** What a bank offers for the three messages: Bank itself, or a relay over the service. */
export interface ActivationRelay {
  activate(request: Uint8Array): Promise<{ response: Uint8Array; attemptsLeft: number }>;
  register(confirmation: Uint8Array): Promise<unknown>;
}

/** 送信 and 登録 against the bank: message 1 -> 2, the token's check, message 3 -> the bank. */
export async function activateToken(bank: ActivationRelay, serviceId: string, userId: string, password: string, serial?: bigint): Promise<TokenProfile> {
  const session = tokenRequest(serviceId, userId, password, serial);
  const token = tokenFinish(session, await bank.activate(session.request));
  await bank.register(token.confirmation);
  return token;
}

const api = otpApi();
export const codeAt = (token: Pick<TokenProfile, "seed" | "algorithm" | "digits" | "period">, t: number) => api.totp(token.seed, t, { algorithm: token.algorithm, digits: token.digits, period: token.period });
export const otherThan = (code: string) => (code === "999999" ? "999998" : "999999");
