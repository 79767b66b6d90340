// otp-token/bank: the bank side for a bank that embeds the verifier — issue, activation server,
// confirmation, verifier, lifecycle, API keys, audit trail, PSKC — over the store interface
// (SQLite built in; `openStore` picks the implementation from the path or URL).
//
//   import { Bank, MasterKey, openStore } from "otp-token/bank";
//   const store = await openStore("bank.sqlite");
//   const bank = await Bank.open(store, MasterKey.fromFile("bank.key"));
//   const result = await bank.verify(userId, code);
export {
  API_KEY_PATTERN,
  API_SCOPES,
  Bank,
  DEFAULT_CONFIG,
  DEFAULT_MAIL_DOMAIN,
  LOGIN_TICKET_SECONDS,
  PASSWORD_KDF,
  scopeGrants,
  scopeLabel,
  validateMail,
  validatePassword,
  wasmCodeChecker,
} from "./bank.js";
export type {
  ActivationAnswer,
  ApiGrant,
  CustomerInfo,
  CustomerInput,
  LoginResult,
  ApiKeyInfo,
  AuditEvent,
  BankConfig,
  BankOptions,
  BankOverview,
  BankStatus,
  CodeChecker,
  IssueInput,
  IssueResult,
  IssueStatus,
  TokenSecret,
  TokenStatus,
  VerifyResult,
} from "./bank.js";
export { chainMac, type ChainReport, verifyChain } from "./audit.js";
export { aad, MASTER_KEY_BYTES, MASTER_KEY_ENV, MasterKey } from "./crypto.js";
export { BANK_ERROR_CODES, BankError, type BankErrorCode, type BankErrorDetails } from "./errors.js";
export { type Notice, NOTICES } from "./notices.js";
export { openStore } from "./open-store.js";
export { StoreBusyError, StoreOpenError } from "./store.js";
export type {
  ActivationSessionRow,
  ApiKeyRow,
  ApiScope,
  BankStore,
  CustomerLoginRow,
  CustomerRow,
  EventRow,
  IssueRow,
  OpenStoreOptions,
  StoreReader,
  StoreTx,
  TokenRow,
  TokenState,
} from "./store.js";
export { MIGRATIONS, SCHEMA_VERSION } from "./sqlite/schema.js";
export { BUSY_TIMEOUT_MS } from "./sqlite/engine.js";
export * from "./protocol.js";
