// The SQLite store's worker thread (see store.ts, "Why a worker"): owns the connection, runs each batch
// of operations the store sends, and answers { id, result } or { id, error }. A wait for another
// process's write lock blocks this thread only.
import { parentPort, workerData } from "node:worker_threads";
import { SqliteEngine } from "./engine.js";
import { type Batch, runBatch, toWire } from "./batch.js";

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

port.on("message", (message: { id: number; batch: Batch } | { close: true }) => {
  if ("close" in message) {
    engine.close();
    port.close();
    return;
  }
  try {
    port.postMessage({ id: message.id, result: runBatch(engine, message.batch) });
  } catch (error) {
    port.postMessage({ id: message.id, error: toWire(error) });
  }
});
