// The SQLite store's worker thread (see store.ts, "Why a worker"): owns the connection, runs each batch
// of operations the store sends, and answers { id, result } or { id, error }. A wait for another
// process's write lock blocks this thread only. Transactions are group-committed (batch.ts,
// GroupCommit) unless the store was opened with groupCommit: false.
import { parentPort, workerData } from "node:worker_threads";
import { SqliteEngine } from "./engine.js";
import { type Batch, GroupCommit, toWire } from "./batch.js";

const port = parentPort!;
const { path, create, busyTimeoutMs } = workerData as { path: string; create: boolean; busyTimeoutMs?: number };

let engine: SqliteEngine;
try {
  engine = SqliteEngine.open(path, { create, busyTimeoutMs });
  port.postMessage({ ready: true });
} catch (error) {
  port.postMessage({ ready: false, error: toWire(error) });
  process.exit(0);
}

const group = new GroupCommit(engine, (reply) => port.postMessage(reply));

port.on("message", (message: { id: number; batch: Batch } | { id: number; stats: true } | { close: true }) => {
  if ("close" in message) {
    group.finish();
    engine.close();
    port.close();
    return;
  }
  if ("stats" in message) {
    port.postMessage({ id: message.id, result: { ...group.stats } });
    return;
  }
  group.handle(message.id, message.batch);
});
