// The otp-token package: the one-time-password API over the wasm core (release build).
import { otpApi } from "./otp.js";

const api = otpApi("release");

export const hotp = api.hotp;
export const totp = api.totp;
export const createTotp = api.createTotp;
export const digest = api.digest;
export const hmac = api.hmac;

export { otpApi, TotpGenerator, algorithmName } from "./otp.js";
export type { Algorithm, OtpApi, OtpOptions, VerifyOptions } from "./otp.js";
export type { CoreBuild } from "./core.js";

// The token on its simulated board, and the board itself.
export { SimToken } from "./token/sim-token.js";
export type { Screen, ScreenMode, SimTokenOptions } from "./token/sim-token.js";
export { LinkError, TokenLink } from "./token/link.js";
export type { ProfileInfo, ProfileSpec, TokenInfo } from "./token/link.js";
export { Board } from "./board/board.js";
export type { BoardConfig } from "./board/board.js";
