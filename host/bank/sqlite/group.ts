// Grouped transactions on the SQLite store's worker thread (store.ts; TransactionOptions.group in
// ../store.ts): verifications of distinct tokens waiting in the store's queue run as ONE logical
// transaction of the worker's group commit (batch.ts, GroupCommit), in two messages whatever their number:
//
//   1. BEGIN (the group commit's savepoint) and verifiableToken of every member's key: one message,
//      one answer with every row;
//   2. every member's callback runs here against a transaction (MemberTx) whose verifiableToken(own
//      key) answers from that read and whose writes are held; then one message carries every
//      member's writes (each member in a savepoint of its own, batch.ts runMembers) and the commit,
//      answered after the COMMIT (fsync) that holds it.
//
// So N verifications cost 2 round trips, not 2N. Distinct keys (the store never puts two
// transactions of one key in a group) and the contract of TransactionOptions.group (read only the
// own token, write only its row and the audit trail) make the members independent: each sees its
// row as the transaction before the group left it, and nobody else writes that row until the group
// is done (one connection; the write lock from the read to the COMMIT).
//
// recordTokenFailure answers a value (the failure count, the lock): it is computed here from the row
// read (the same arithmetic as its UPDATE ... RETURNING, on the row nobody else writes meanwhile)
// and sent with the expected answer; the worker undoes the member (its savepoint) if the UPDATE
// answers otherwise, so no caller is ever told a count that was not committed. No extra round trip.
//
// A member whose callback throws sent nothing to the worker: it is answered with its error and its
// writes are dropped; the others go on. A member that calls any other operation (outside the
// contract) is answered nothing from the group: its callback is abandoned (the call rejects) and it
// runs again alone once the group's writes are posted (a transaction's callback may run more than
// once: BankStore.transaction).
import type { StoreTx, VerifiableToken } from "../store.js";
import type { Op } from "./batch.js";
import { TX_OPERATIONS } from "./operations.js";

/** A member's callback, once run against the group's read. */
export type MemberRun =
  /** It returned: its writes go to the worker, its value to its caller after the COMMIT. */
  | { value: unknown; ops: Op[] }
  /** It threw: nothing of it is written. */
  | { error: unknown }
  /** It called an operation a grouped transaction may not: it runs again alone. */
  | { again: true };

/** Thrown into a member's callback that calls what a grouped transaction may not (it then runs again alone). */
export class OutsideGroupError extends Error {
  override name = "OutsideGroupError";
}

/** A member's view of the store: its own token's row as the group read it, its writes held. */
class MemberTx {
  readonly ops: Op[] = [];
  outside: string | null = null;

  constructor(
    private readonly key: string,
    private readonly row: VerifiableToken | undefined,
  ) {}

  refuse(name: string): Promise<never> {
    this.outside ??= name;
    return Promise.reject(new OutsideGroupError(`${name} is not part of a grouped transaction: it runs again alone`));
  }

  verifiableToken(userId: string): Promise<VerifiableToken | undefined> {
    if (userId !== this.key) return this.refuse("verifiableToken");
    return Promise.resolve(this.row === undefined ? undefined : { ...this.row });
  }

  recordTokenSuccess(userId: string, driftSteps: number, lastStep: number, at: number): Promise<void> {
    if (userId !== this.key) return this.refuse("recordTokenSuccess");
    this.ops.push(["recordTokenSuccess", [userId, driftSteps, lastStep, at]]);
    if (this.row) Object.assign(this.row, { drift_steps: driftSteps, last_step: lastStep, consecutive_failures: 0, next_check_at: 0 });
    return Promise.resolve();
  }

  /** The engine's UPDATE ... RETURNING (engine.ts), computed on the row read: the worker checks it (`expect`). */
  recordTokenFailure(userId: string, threshold: number, nextCheckAt: number): Promise<{ failures: number; locked: boolean }> {
    if (userId !== this.key || this.row === undefined) return this.refuse("recordTokenFailure");
    const failures = this.row.consecutive_failures + 1;
    const locked = failures >= threshold ? 1 : this.row.locked;
    Object.assign(this.row, { consecutive_failures: failures, locked, next_check_at: nextCheckAt });
    const answer = { failures, locked: locked === 1 };
    this.ops.push(["recordTokenFailure", [userId, threshold, nextCheckAt], answer]);
    return Promise.resolve({ ...answer });
  }

  appendEvent(event: unknown): Promise<void> {
    this.ops.push(["appendEvent", [event]]);
    return Promise.resolve();
  }
}

const ALLOWED = new Set(["verifiableToken", "recordTokenSuccess", "recordTokenFailure", "appendEvent"]);
for (const name of TX_OPERATIONS) {
  if (ALLOWED.has(name)) continue;
  Object.defineProperty(MemberTx.prototype, name, {
    value(this: MemberTx) {
      return this.refuse(name);
    },
  });
}

/** Runs one member's callback against the group's read of its row (undefined: no such token). */
export async function runMember(key: string, row: VerifiableToken | undefined, fn: (tx: StoreTx) => Promise<unknown>): Promise<MemberRun> {
  const tx = new MemberTx(key, row);
  try {
    const value = await fn(tx as unknown as StoreTx);
    return tx.outside === null ? { value, ops: tx.ops } : { again: true };
  } catch (error) {
    return tx.outside === null ? { error } : { again: true };
  }
}
