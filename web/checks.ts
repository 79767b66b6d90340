// The issue screen's rules, checked in the page so the holder sees each problem at once. A convenience
// only: the server applies the same rules (host/bank/bank.ts validateMail / validatePassword, both
// built on host/identity.ts, which this file re-exports) and is the guard.
export { mailProblem, passwordProblem, SERVICE_ID_PATTERN as SERVICE_ID, USER_ID_PATTERN as USER_ID } from "../host/identity.js";

export const CODE = /^[0-9]{6,8}$/;
