// The messages between the SQLite store (store.ts) and its engine (engine.ts), on the calling thread or
// across the worker boundary (worker.ts): a batch of operations, and errors as plain data.
import { StoreBusyError, StoreOpenError } from "../store.js";
import { runOperation, type SqliteEngine, translateError } from "./engine.js";

/** One message to the engine: optionally BEGIN, some operations, optionally COMMIT or ROLLBACK. */
export interface Batch {
  begin?: boolean;
  ops: [string, unknown[]][];
  end?: "commit" | "rollback";
}

/** An error crossing the worker boundary. */
export interface WireError {
  name: string;
  message: string;
  retryAfterSeconds?: number;
}

/** Runs a batch on the engine; on an error inside a transaction that was to end, rolls back. Returns the last result. */
export function runBatch(engine: SqliteEngine, batch: Batch): unknown {
  try {
    if (batch.begin) engine.beginTransaction();
    let result: unknown;
    for (const [name, args] of batch.ops) result = runOperation(engine, name, args);
    if (batch.end === "commit") engine.commit();
    else if (batch.end === "rollback") engine.rollback();
    return result;
  } catch (error) {
    if (batch.end !== undefined) engine.rollback();
    throw translateError(error);
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
