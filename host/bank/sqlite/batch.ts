// The messages between the SQLite store (store.ts) and its engine (engine.ts), on the calling thread or
// across the worker boundary (worker.ts): a batch of operations, and errors as plain data.
import { StoreBusyError, StoreOpenError } from "../store.js";
import { type SqliteEngine, translateError } from "./engine.js";
import { runOperation } from "./operations.js";

/**
 * One operation by name with its arguments; with a third element, the result the caller was already
 * given (a grouped transaction's recordTokenFailure, group.ts): any other result fails the operation.
 */
export type Op = [name: string, args: unknown[], expect?: unknown];

/** One message to the engine: optionally BEGIN, some operations, optionally COMMIT or ROLLBACK. */
export interface Batch {
  begin?: boolean;
  ops: Op[];
  /** Answer every operation's result (an array), not only the last one's: a group's reads (group.ts). */
  all?: boolean;
  /**
   * The members of a grouped transaction (group.ts), after `ops`: each member's operations in a
   * savepoint of its own, undone alone when one fails. The answer is one entry per member: null, or
   * the error that undid it.
   */
  members?: Op[][];
  end?: "commit" | "rollback";
  /**
   * Group commit (GroupCommit, the worker): nobody else is waiting for the connection, so commit the
   * group once this batch is done. Without it the group stays open for the transactions queued behind.
   */
  flush?: boolean;
}

/** An error crossing the worker boundary. */
export interface WireError {
  name: string;
  message: string;
  retryAfterSeconds?: number;
}

/** Runs `ops`: the last one's result, or (`all`) every result. */
function runOps(engine: SqliteEngine, ops: Op[], all: boolean | undefined): unknown {
  if (all) return ops.map(([name, args]) => runOperation(engine, name, args));
  let result: unknown;
  for (const [name, args] of ops) result = runOperation(engine, name, args);
  return result;
}

/**
 * Runs each member's operations in a savepoint of its own (SAVEPOINT member ... RELEASE member): one
 * that fails (an operation throws, or answers otherwise than its `expect`) is rolled back alone and
 * its entry is the error; the others' is null. An error that ended the whole transaction is thrown.
 */
export function runMembers(engine: SqliteEngine, members: Op[][]): (WireError | null)[] {
  return members.map((ops) => {
    engine.memberSavepoint();
    try {
      for (const [name, args, expect] of ops) {
        const result = runOperation(engine, name, args);
        if (expect !== undefined && JSON.stringify(result) !== JSON.stringify(expect))
          throw new Error(`the store's ${name} answered otherwise than the grouped transaction was told: it is undone`);
      }
      engine.releaseMember();
      return null;
    } catch (error) {
      if (!engine.inTransaction) throw error;
      engine.rollbackToMember();
      return toWire(translateError(error));
    }
  });
}

/** Runs a batch on the engine; on an error inside a transaction that was to end, rolls back. Returns the last result. */
export function runBatch(engine: SqliteEngine, batch: Batch): unknown {
  try {
    if (batch.begin) engine.beginTransaction();
    let result = runOps(engine, batch.ops, batch.all);
    if (batch.members) result = runMembers(engine, batch.members);
    if (batch.end === "commit") engine.commit();
    else if (batch.end === "rollback") engine.rollback();
    return result;
  } catch (error) {
    if (batch.end !== undefined) engine.rollback();
    throw translateError(error);
  }
}

/** An answer to one message of the store (worker.ts). */
export interface Reply {
  id: number;
  result?: unknown;
  error?: WireError;
}

/** Logical transactions in one group at most; then it commits even when more are waiting. */
export const MAX_GROUP = 64;

/**
 * Group commit on the worker thread (synchronous=FULL costs an fsync per COMMIT): the logical
 * transactions the store sends one after another (its queue: one connection, so they are serial)
 * run inside one BEGIN IMMEDIATE transaction, each in a SAVEPOINT of its own, and the group
 * commits once when the store says nobody else is waiting (a batch's `flush`) or at MAX_GROUP. While
 * that COMMIT's fsync is in flight this thread is blocked and the next transactions queue up in the
 * store: they make the next group.
 *
 * - Each logical transaction's read-check-write is as before: the write lock is the group's (taken
 *   at the outer BEGIN IMMEDIATE), the transactions run one at a time, so each reads what the ones
 *   before it left and nobody interleaves with it. Only the COMMIT (the fsync) is shared.
 * - A logical transaction that fails or rolls back undoes its savepoint alone (ROLLBACK TO), and is
 *   answered at once: it changed nothing.
 * - Every other final answer (a commit, a read outside a transaction) is held until the COMMIT that
 *   covers it returns: nobody is told of a change, or shown one, that a crash could still take
 *   back. A failed COMMIT fails every transaction it held.
 * - Answers a transaction needs to go on (its reads) are sent at once.
 * - A grouped transaction (group.ts) is one logical transaction here: its first message reads every
 *   member's token (`all`), its last carries each member's writes in a savepoint of its own
 *   (`members`, runMembers) and ends it; its one answer (an entry per member) is held like any other.
 */
export class GroupCommit {
  /** The outer BEGIN IMMEDIATE transaction is open. */
  private open = false;
  /** A logical transaction's savepoint is open. */
  private inLogical = false;
  private held: Reply[] = [];
  /** The answers held, counting each member of a grouped transaction (group.ts: one reply for all). */
  private heldAnswers = 0;
  /**
   * Groups committed and the answers they held (the bench's figures: a grouped transaction's members
   * each count), and the messages handled (a grouped transaction of N members is two).
   */
  readonly stats = { commits: 0, held: 0, messages: 0 };

  constructor(
    private readonly engine: SqliteEngine,
    private readonly send: (reply: Reply) => void,
    private readonly maxGroup = MAX_GROUP,
  ) {}

  handle(id: number, batch: Batch): void {
    this.stats.messages++;
    const { reply, hold } = this.run(id, batch);
    if (hold) {
      this.held.push(reply);
      this.heldAnswers += batch.members?.length ?? 1;
    } else this.send(reply);
    if (this.open && !this.inLogical && (batch.flush === true || this.heldAnswers >= this.maxGroup)) this.commit();
  }

  /** Commits what is open and answers what it held (before the connection closes). */
  finish(): void {
    if (this.open && this.inLogical) {
      this.engine.rollbackToSavepoint();
      this.inLogical = false;
    }
    if (this.open) this.commit();
  }

  private run(id: number, batch: Batch): { reply: Reply; hold: boolean } {
    const final = batch.end !== undefined || (!batch.begin && !this.inLogical);
    try {
      if (batch.begin) {
        if (!this.open) {
          this.engine.beginTransaction();
          this.open = true;
        }
        this.engine.savepoint();
        this.inLogical = true;
      }
      let result = runOps(this.engine, batch.ops, batch.all);
      if (batch.members) result = runMembers(this.engine, batch.members);
      if (batch.end === "commit") {
        this.engine.release();
        this.inLogical = false;
      } else if (batch.end === "rollback") {
        this.engine.rollbackToSavepoint();
        this.inLogical = false;
        return { reply: { id, result }, hold: false };
      }
      return { reply: { id, result }, hold: this.open && final };
    } catch (error) {
      const wire = toWire(translateError(error));
      if (this.open && !this.engine.inTransaction) {
        // SQLite rolled the whole transaction back (an I/O error, a full disk): the group is lost.
        this.inLogical = false;
        this.fail(wire);
      } else if (batch.end !== undefined && this.inLogical) {
        this.engine.rollbackToSavepoint();
        this.inLogical = false;
      }
      return { reply: { id, error: wire }, hold: false };
    }
  }

  private commit(): void {
    const held = this.held;
    this.held = [];
    try {
      this.engine.commit();
    } catch (error) {
      this.engine.rollback();
      this.held = held;
      this.fail(toWire(translateError(error)));
      return;
    }
    this.open = false;
    this.stats.commits++;
    this.stats.held += this.heldAnswers;
    this.heldAnswers = 0;
    for (const reply of held) this.send(reply);
  }

  /** The open group did not commit: every answer it held becomes `error` (their changes are gone). */
  private fail(error: WireError): void {
    const held = this.held;
    this.held = [];
    this.heldAnswers = 0;
    this.open = false;
    for (const reply of held) this.send(reply.error ? reply : { id: reply.id, error });
  }
}

export function toWire(error: unknown): WireError {
  const e = error as Error;
  return { name: e?.name ?? "Error", message: e?.message ?? String(error), retryAfterSeconds: (error as StoreBusyError).retryAfterSeconds };
}

export function fromWire(wire: WireError): Error {
  if (wire.name === "StoreBusyError") return new StoreBusyError(wire.message, wire.retryAfterSeconds);
  if (wire.name === "StoreOpenError") return new StoreOpenError(wire.message);
  const error = new Error(wire.message);
  error.name = wire.name;
  return error;
}
