// The engine's operations by name: what crosses the worker boundary (batch.ts) and what a transaction
// (StoreTx) may call (store.ts), and which of them are sent without waiting for their result.
import type { SqliteEngine } from "./engine.js";

export const ENGINE_OPERATIONS = [
  "getSetting",
  "setSetting",
  "initMeta",
  "forgetExpired",
  "insertCustomer",
  "customerOf",
  "customerByNumber",
  "assignCustomerNumber",
  "nextIssueNumber",
  "raiseIssueNumber",
  "userIdTaken",
  "insertIssue",
  "issueFor",
  "latestIssue",
  "pendingIssuesOf",
  "countIssueFailure",
  "uncountIssueFailure",
  "voidIssue",
  "getActivationSession",
  "insertActivationSession",
  "confirmActivationSession",
  "setPendingToken",
  "completeIssue",
  "getToken",
  "verifiableToken",
  "tokenOfCustomer",
  "replaceToken",
  "recordTokenSuccess",
  "recordTokenFailure",
  "unlockToken",
  "setTokenState",
  "listTokens",
  "countTokens",
  "appendEvent",
  "events",
  "eventsOf",
  "insertLogin",
  "loginByLoginId",
  "loginByReference",
  "loginOfCustomer",
  "recordLoginFailure",
  "recordLoginSuccess",
  "unlockLogin",
  "insertApiKey",
  "revokeApiKey",
  "insertTransaction",
  "getTransaction",
  "settleTransaction",
  "sealedRecords",
  "replaceSealed",
  "getApiKey",
  "listApiKeys",
  "setAuditKeys",
  "auditHead",
  "auditAlarms",
  "pruneEvents",
  "auditOldest",
] as const;
export type EngineOperation = (typeof ENGINE_OPERATIONS)[number];

/** Operations whose result nobody waits for inside a transaction: sent with the next message (fewer round trips to the worker). */
export const DEFERRABLE_OPERATIONS: ReadonlySet<string> = new Set<EngineOperation>([
  "setSetting",
  "raiseIssueNumber",
  "uncountIssueFailure",
  "voidIssue",
  "confirmActivationSession",
  "setPendingToken",
  "completeIssue",
  "replaceToken",
  "recordTokenSuccess",
  "unlockToken",
  "setTokenState",
  "appendEvent",
  "recordLoginSuccess",
  "unlockLogin",
  "insertApiKey",
]);

/** The engine's operations a transaction (StoreTx) does not offer: the store's own reads outside transactions. */
const OUTSIDE_TX: ReadonlySet<EngineOperation> = new Set<EngineOperation>([
  "listTokens",
  "countTokens",
  "events",
  "eventsOf",
  "getApiKey",
  "listApiKeys",
  "setAuditKeys",
  "auditHead",
  "auditAlarms",
  "pruneEvents",
  "auditOldest",
]);
/** What a transaction's StoreTx offers. */
export const TX_OPERATIONS: readonly EngineOperation[] = ENGINE_OPERATIONS.filter((name) => !OUTSIDE_TX.has(name));

const KNOWN: ReadonlySet<string> = new Set(ENGINE_OPERATIONS);

/** Runs one named operation. */
export function runOperation(engine: SqliteEngine, name: string, args: unknown[]): unknown {
  if (!KNOWN.has(name)) throw new Error(`unknown store operation ${name}`);
  return (engine[name as EngineOperation] as (...a: unknown[]) => unknown)(...args);
}
