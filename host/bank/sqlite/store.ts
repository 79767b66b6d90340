// The SQLite implementation of the bank's store interface (host/bank/store.ts). The engine (engine.ts)
// is synchronous; this class makes it asynchronous, either on the calling thread ("inline", the CLI's
// one-shot commands) or on a worker thread ("worker", what `bank serve` and the browser simulator use).
//
// Why a worker: better-sqlite3 blocks its thread while it waits for another process's write lock (up
// to BUSY_TIMEOUT_MS). On the server's event loop that froze every client, static files included; on
// a worker only the requests that need the database wait, and a wait past the timeout becomes a
// StoreBusyError (503 + Retry-After) instead of a 500. The alternative, failing at once with 503,
// would refuse ordinary logins whenever a second instance is mid-commit; the worker costs one
// message round trip (~40 us) per transaction step, measured in bench/bank.ts.
//
// Transactions: one connection, so transactions of one process run one after another (a promise
// queue); each is BEGIN IMMEDIATE ... COMMIT in the engine. Writes whose result nobody waits for are
// held and sent with the next message, so a verification is two round trips: read the token, then
// write-and-commit.
//
// Group commit (worker): a transaction's last message (its commit, or a read outside a transaction)
// frees the queue as soon as it is posted, and says whether anyone is waiting behind it (`flush`
// when nobody is). The worker runs the next transactions in savepoints of the same BEGIN IMMEDIATE
// transaction and commits them together (batch.ts, GroupCommit); each caller is answered after the
// COMMIT that holds its transaction. So at synchronous=FULL one fsync serves every transaction that
// queued up while the previous one was in flight.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type {
  ApiKeyRow,
  AuditAlarm,
  AuditHead,
  AuditSetup,
  BankStore,
  CustomerLoginRow,
  CustomerRow,
  EventRow,
  IssueRow,
  OpenStoreOptions,
  SettingName,
  StoreTx,
  TokenRow,
  TokenState,
} from "../store.js";
import { StoreBusyError, StoreOpenError } from "../store.js";
import { type Batch, fromWire, runBatch, type WireError } from "./batch.js";
import { SqliteEngine } from "./engine.js";
import { DEFERRABLE_OPERATIONS, ENGINE_OPERATIONS, type EngineOperation } from "./operations.js";
import { SCHEMA_VERSION } from "./schema.js";

interface Channel {
  send(batch: Batch): Promise<unknown>;
  close(): Promise<void>;
  /** The worker's group-commit figures (commits, answers held for them); null inline. */
  stats(): Promise<{ commits: number; held: number } | null>;
}

class InlineChannel implements Channel {
  constructor(private readonly engine: SqliteEngine) {}

  send(batch: Batch): Promise<unknown> {
    try {
      return Promise.resolve(runBatch(this.engine, batch));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  close(): Promise<void> {
    this.engine.close();
    return Promise.resolve();
  }

  stats(): Promise<null> {
    return Promise.resolve(null);
  }
}

/** worker.js beside this file (built), or the built one in dist/ when this runs from the TypeScript sources (tests). */
function workerFile(): URL {
  const sibling = new URL("./worker.js", import.meta.url);
  if (existsSync(fileURLToPath(sibling))) return sibling;
  const built = new URL("../../../dist/host/bank/sqlite/worker.js", import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  throw new StoreOpenError("the SQLite worker (dist/host/bank/sqlite/worker.js) is not built: run npm run build");
}

class WorkerChannel implements Channel {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  private constructor(private readonly worker: Worker) {
    worker.on("message", (message: { id: number; result?: unknown; error?: WireError }) => {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (this.pending.size === 0) worker.unref();
      if (message.error) waiter.reject(fromWire(message.error));
      else waiter.resolve(message.result);
    });
    worker.on("error", (error) => this.failAll(error));
    worker.on("exit", () => this.failAll(new StoreBusyError("the bank's database worker stopped")));
    // An idle program does not stay alive for the worker's sake; one waiting for an answer does (send).
    worker.unref();
  }

  static async start(path: string, options: OpenStoreOptions): Promise<WorkerChannel> {
    const worker = new Worker(workerFile(), {
      workerData: { path, create: options.create === true, busyTimeoutMs: options.busyTimeoutMs },
    });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (message: { ready?: boolean; error?: WireError }) => {
        worker.off("error", onError);
        if (message.ready) resolve();
        else reject(fromWire(message.error!));
      };
      const onError = (error: Error) => reject(error);
      worker.once("message", onMessage);
      worker.once("error", onError);
    });
    return new WorkerChannel(worker);
  }

  private failAll(error: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }

  send(batch: Batch): Promise<unknown> {
    return this.post({ batch });
  }

  stats(): Promise<{ commits: number; held: number }> {
    return this.post({ stats: true }) as Promise<{ commits: number; held: number }>;
  }

  private post(message: { batch: Batch } | { stats: true }): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, ...message });
    });
  }

  async close(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.worker.once("exit", () => resolve()));
    this.worker.ref();
    this.worker.postMessage({ close: true });
    await exited;
  }
}

/** Transactions waiting for the connection beyond this are refused at once as busy (503), not queued for ever. */
export const MAX_QUEUED_TRANSACTIONS = 1000;

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
const TX_OPERATIONS = ENGINE_OPERATIONS.filter((name) => !OUTSIDE_TX.has(name));

export class SqliteStore implements BankStore {
  readonly kind = "sqlite";
  readonly schemaVersion = SCHEMA_VERSION;
  private tail: Promise<unknown> = Promise.resolve();
  private queued = 0;
  waitObserver: ((seconds: number) => void) | null = null;
  private closed = false;
  /** A final message went to the worker saying others wait behind it: its group is open until a flush. */
  private groupOpen = false;

  private constructor(
    private readonly channel: Channel,
    readonly location: string,
    /** The engine when it runs on this thread (tests and tools may read the database directly). */
    readonly engine: SqliteEngine | null,
    private readonly groupCommit: boolean,
  ) {}

  static async open(path: string, options: OpenStoreOptions = {}): Promise<SqliteStore> {
    if (options.thread === "worker")
      return new SqliteStore(await WorkerChannel.start(path, options), path, null, options.groupCommit !== false);
    const engine = SqliteEngine.open(path, { create: options.create, busyTimeoutMs: options.busyTimeoutMs });
    return new SqliteStore(new InlineChannel(engine), path, engine, false);
  }

  /** The worker's group commits so far: COMMITs (fsyncs) and the answers they held; null inline. */
  groupCommitStats(): Promise<{ commits: number; held: number } | null> {
    return this.channel.stats();
  }

  /** Runs `work` when the connection is free (one at a time); the time it queued is told to waitObserver. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new StoreBusyError("the bank's store is closed"));
    if (this.queued >= MAX_QUEUED_TRANSACTIONS)
      return Promise.reject(new StoreBusyError("the bank's database has too many requests waiting: try again", 1));
    this.queued++;
    const queuedAt = performance.now();
    const run = this.tail
      .then(() => {
        this.waitObserver?.((performance.now() - queuedAt) / 1000);
        return work();
      })
      .finally(() => {
        this.queued--;
        // The group was left open for a transaction that then sent nothing: commit it now.
        if (this.queued === 0 && this.groupOpen) void this.final({ ops: [] }).catch(() => undefined);
      });
    this.tail = run.catch(() => undefined);
    return run;
  }

  /**
   * Posts a message that ends what its caller waits for (a commit, a read outside a transaction).
   * The answer comes once it is durable (after the group's COMMIT); the queue goes on at once.
   */
  private final(batch: Batch): Promise<unknown> {
    batch.flush = !this.groupCommit || this.queued <= 1;
    this.groupOpen = !batch.flush;
    const answer = this.channel.send(batch);
    answer.catch(() => undefined); // awaited by the caller after the queue moved on
    return answer;
  }

  async transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    const end: { committed?: Promise<unknown> } = {};
    const result = await this.exclusive(async () => {
      let begun = false;
      let deferred: [string, unknown[]][] = [];
      const call = (name: string, args: unknown[]): Promise<unknown> => {
        if (DEFERRABLE_OPERATIONS.has(name)) {
          deferred.push([name, args]);
          return Promise.resolve(undefined);
        }
        const batch: Batch = { begin: !begun, ops: [...deferred, [name, args]] };
        begun = true;
        deferred = [];
        return this.channel.send(batch);
      };
      const tx = Object.fromEntries(TX_OPERATIONS.map((name) => [name, (...args: unknown[]) => call(name, args)])) as unknown as StoreTx;
      let result: T;
      try {
        result = await fn(tx);
      } catch (error) {
        if (begun) await this.channel.send({ ops: [], end: "rollback" }).catch(() => undefined);
        throw error;
      }
      if (begun || deferred.length > 0) end.committed = this.final({ begin: !begun, ops: deferred, end: "commit" });
      return result;
    });
    if (end.committed) await end.committed;
    return result;
  }

  private async read<T>(name: EngineOperation, ...args: unknown[]): Promise<T> {
    const answer = await this.exclusive(async () => ({ reply: this.final({ ops: [[name, args]] }) }));
    return (await answer.reply) as T;
  }

  getSetting(name: SettingName): Promise<string | null> {
    return this.read("getSetting", name);
  }

  getToken(userId: string): Promise<TokenRow | undefined> {
    return this.read("getToken", userId);
  }

  latestIssue(userId: string): Promise<IssueRow | undefined> {
    return this.read("latestIssue", userId);
  }

  customerOf(userId: string): Promise<CustomerRow | undefined> {
    return this.read("customerOf", userId);
  }

  loginByLoginId(loginId: string): Promise<CustomerLoginRow | undefined> {
    return this.read("loginByLoginId", loginId);
  }

  listTokens(options: { afterUserId?: string; limit: number; expiringBefore?: number }): Promise<TokenRow[]> {
    return this.read("listTokens", options);
  }

  countTokens(): Promise<Record<TokenState | "locked", number>> {
    return this.read("countTokens");
  }

  events(afterId: number, limit: number): Promise<EventRow[]> {
    return this.read("events", afterId, limit);
  }

  eventsOf(userId: string, limit: number): Promise<EventRow[]> {
    return this.read("eventsOf", userId, limit);
  }

  getApiKey(keyId: string): Promise<ApiKeyRow | undefined> {
    return this.read("getApiKey", keyId);
  }

  listApiKeys(): Promise<ApiKeyRow[]> {
    return this.read("listApiKeys");
  }

  /** The trail's keys; SQLite chains each event in the transaction that records it, so it has no sealer to tell about seals. */
  useAudit(setup: AuditSetup): Promise<void> {
    return this.read("setAuditKeys", setup.keys);
  }

  auditHead(): Promise<AuditHead | null> {
    return this.read("auditHead");
  }

  auditAlarms(): Promise<AuditAlarm[]> {
    return this.read("auditAlarms");
  }

  pruneEvents(throughId: number): Promise<number> {
    return this.read("pruneEvents", throughId);
  }

  auditOldest(afterId: number): Promise<number | null> {
    return this.read("auditOldest", afterId);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.tail;
    this.closed = true;
    await this.channel.close();
  }
}
