// The bank side (host/bank/): issue, activation server, confirmation and verifier over SQLite.
export { Bank, DEFAULT_CONFIG, validateMail, validatePassword, wasmCodeChecker } from "./bank.js";
export type { BankConfig, BankOptions, BankStatus, CodeChecker, IssueInput, IssueResult, IssueStatus, TokenStatus, VerifyResult } from "./bank.js";
export { aad, MASTER_KEY_BYTES, MASTER_KEY_ENV, MasterKey } from "./crypto.js";
export { BANK_ERROR_CODES, BankError, type BankErrorCode } from "./errors.js";
export { BankStore, BUSY_TIMEOUT_MS, MIGRATIONS, SCHEMA_VERSION } from "./store.js";
export * from "./protocol.js";
