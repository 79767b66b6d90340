// otp-token: the one-time-password API over the wasm core (build/core.wasm, the speed build): HOTP
// (RFC 4226), TOTP (RFC 6238), OCRA (RFC 6287), HMAC (RFC 2104), SHA-1/256/512 (FIPS 180-4). The other parts are
// subpaths, so importing this one loads nothing else: otp-token/token (SimToken, the link),
// otp-token/board, otp-token/bank (needs better-sqlite3), otp-token/protocol (activation messages).
import { otpApi } from "./otp.js";

const api = otpApi("release");

export const hotp = api.hotp;
export const totp = api.totp;
export const createTotp = api.createTotp;
export const digest = api.digest;
export const hmac = api.hmac;
export const ocra = api.ocra;

export type { CoreBuild } from "./core.js";
export type { OcraInput, OcraQuestionFormat, OcraSuite } from "./ocra.js";
export { parseOcraSuite } from "./ocra.js";
export type { Algorithm, OtpApi, OtpOptions, VerifyOptions } from "./otp.js";
export { algorithmName, otpApi, TotpGenerator } from "./otp.js";
