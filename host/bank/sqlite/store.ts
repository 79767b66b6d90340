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
// Transactions: one connection, so transactions of one process run one after another (a queue,
// `waiting`); each is BEGIN IMMEDIATE ... COMMIT in the engine. Writes whose result nobody waits for are
// held and sent with the next message, so a verification is two round trips: read the token, then
// write-and-commit.
//
// Group commit (worker): a transaction's last message (its commit, or a read outside a transaction)
// frees the queue as soon as it is posted, and says whether anyone is waiting behind it (`flush`
// when nobody is). The worker runs the next transactions in savepoints of the same BEGIN IMMEDIATE
// transaction and commits them together (batch.ts, GroupCommit); each caller is answered after the
// COMMIT that holds its transaction. So at synchronous=FULL one fsync serves every transaction that
// queued up while the previous one was in flight.
//
// Grouped transactions (worker with group commit; TransactionOptions.group, group.ts): the queue is
// a list, and a grouped transaction at its head takes with it the grouped ones waiting right behind
// it (distinct keys, MAX_GROUP_MEMBERS at most): they run as one logical transaction in two messages
// (one read of every token, one with every member's writes and the commit), so N verifications
// cost 2 round trips, not 2N. Inline (the CLI) and with groupCommit: false they run alone.
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
  TransactionOptions,
  VerifiableToken,
} from "../store.js";
import { StoreBusyError, StoreOpenError } from "../store.js";
import { type Batch, fromWire, type Op, runBatch, type WireError } from "./batch.js";
import { SqliteEngine } from "./engine.js";
import { runMember } from "./group.js";
import { DEFERRABLE_OPERATIONS, type EngineOperation, TX_OPERATIONS } from "./operations.js";
import { SCHEMA_VERSION } from "./schema.js";

/** The worker's group-commit figures (batch.ts, GroupCommit.stats). */
export interface GroupStats {
  /** COMMITs (fsyncs). */
  commits: number;
  /** Answers held for them (each member of a grouped transaction counts). */
  held: number;
  /** Messages the worker handled (a grouped transaction of any number of members is two). */
  messages: number;
}

interface Channel {
  send(batch: Batch): Promise<unknown>;
  close(): Promise<void>;
  /** The worker's group-commit figures; null inline. */
  stats(): Promise<GroupStats | null>;
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

  stats(): Promise<GroupStats> {
    return this.post({ stats: true }) as Promise<GroupStats>;
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

/** Members of one grouped transaction at most (group.ts): the worker commits at MAX_GROUP answers anyway. */
export const MAX_GROUP_MEMBERS = 64;

/** A transaction's run on the connection: its result, and the answer to its commit (after the COMMIT that holds it). */
interface Ran {
  result: unknown;
  committed?: Promise<unknown>;
}

/** A transaction or a read waiting for the connection. */
interface Waiting {
  queuedAt: number;
  /** Runs it alone; settles once its last message is posted (the connection is free for the next). */
  alone: () => Promise<Ran>;
  /** A grouped transaction (TransactionOptions.group): its key and callback. */
  key?: string;
  fn?: (tx: StoreTx) => Promise<unknown>;
  /** Its wait was told to waitObserver (a group member that runs again alone). */
  observed?: boolean;
  resolve: (ran: Ran) => void;
  reject: (error: unknown) => void;
}

/** A transaction's StoreTx: each operation goes through `call` (held when deferrable, else sent). */
class Tx {
  constructor(readonly call: (name: string, args: unknown[]) => Promise<unknown>) {}
}
for (const name of TX_OPERATIONS)
  Object.defineProperty(Tx.prototype, name, {
    value(this: Tx, ...args: unknown[]) {
      return this.call(name, args);
    },
  });

export class SqliteStore implements BankStore {
  readonly kind = "sqlite";
  readonly schemaVersion = SCHEMA_VERSION;
  /** Waiting for the connection, in order (a group takes its members from here: group.ts). */
  private readonly waiting: Waiting[] = [];
  /** A transaction, read or group has the connection. */
  private running = false;
  /** Transactions and reads not yet done with the connection (waiting or running). */
  private queued = 0;
  private idle: (() => void)[] = [];
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

  /**
   * The worker's group commits so far: COMMITs (fsyncs), the answers they held (each member of a
   * grouped transaction counts) and the messages the worker handled; null inline.
   */
  groupCommitStats(): Promise<GroupStats | null> {
    return this.channel.stats();
  }

  /** Queues a transaction or read for the connection (one at a time); the time it queued is told to waitObserver. */
  private enqueue(entry: Omit<Waiting, "queuedAt" | "resolve" | "reject">): Promise<Ran> {
    if (this.closed) return Promise.reject(new StoreBusyError("the bank's store is closed"));
    if (this.queued >= MAX_QUEUED_TRANSACTIONS)
      return Promise.reject(new StoreBusyError("the bank's database has too many requests waiting: try again", 1));
    this.queued++;
    return new Promise<Ran>((resolve, reject) => {
      this.waiting.push({ ...entry, queuedAt: performance.now(), resolve, reject });
      if (!this.running) {
        // Started in a microtask: the caller's own code goes on first, and what queues meanwhile can join a group.
        this.running = true;
        queueMicrotask(() => this.next());
      }
    });
  }

  /** Gives the connection to the next in line (a group of grouped transactions, or one), or goes idle. */
  private next(): void {
    const head = this.waiting.shift();
    if (!head) {
      this.running = false;
      // The group was left open for a transaction that then sent nothing: commit it now.
      if (this.groupOpen) void this.final({ ops: [] }).catch(() => undefined);
      for (const wake of this.idle.splice(0)) wake();
      return;
    }
    const turn = head.key !== undefined && this.groupCommit ? this.runGroup(this.membersFrom(head)) : this.runAlone(head);
    void turn.then(() => this.next());
  }

  /** `head` and the grouped transactions waiting right behind it, of distinct keys (one of a key taken waits for the next group). */
  private membersFrom(head: Waiting): Waiting[] {
    const members = [head];
    const keys = new Set([head.key]);
    for (let i = 0; i < this.waiting.length && members.length < MAX_GROUP_MEMBERS; ) {
      const entry = this.waiting[i];
      if (entry.key === undefined) break;
      if (keys.has(entry.key)) {
        i++;
        continue;
      }
      keys.add(entry.key);
      members.push(entry);
      this.waiting.splice(i, 1);
    }
    return members;
  }

  private observeWait(entry: Waiting, now: number): void {
    if (!entry.observed) this.waitObserver?.((now - entry.queuedAt) / 1000);
  }

  private async runAlone(entry: Waiting): Promise<void> {
    this.observeWait(entry, performance.now());
    try {
      entry.resolve(await entry.alone());
    } catch (error) {
      entry.reject(error);
    } finally {
      this.queued--;
    }
  }

  /** Runs grouped transactions as one (group.ts): one message reads every member's token, one carries every member's writes and the commit. */
  private async runGroup(members: Waiting[]): Promise<void> {
    const now = performance.now();
    for (const member of members) this.observeWait(member, now);
    let rows: (VerifiableToken | undefined)[];
    try {
      rows = (await this.channel.send({ begin: true, ops: members.map((m) => ["verifiableToken", [m.key]]), all: true })) as typeof rows;
    } catch (error) {
      await this.rollback();
      for (const member of members) member.reject(error);
      this.queued -= members.length;
      return;
    }
    const runs = await Promise.all(members.map((m, i) => runMember(m.key!, rows[i], m.fn!)));
    const written: { member: Waiting; value: unknown; ops: Op[] }[] = [];
    const again: Waiting[] = [];
    runs.forEach((run, i) => {
      if ("again" in run) again.push({ ...members[i], key: undefined, observed: true });
      else if ("error" in run) members[i].reject(run.error);
      else written.push({ member: members[i], ...run });
    });
    // Those that stepped outside a group run next, alone, after the group's writes.
    this.waiting.unshift(...again);
    this.queued -= members.length - again.length;
    if (written.length === 0) {
      await this.rollback();
      return;
    }
    const committed = this.final({ ops: [], members: written.map((w) => w.ops), end: "commit" }) as Promise<(WireError | null)[]>;
    written.forEach(({ member, value }, i) => {
      const mine = committed.then((errors) => {
        if (errors[i]) throw fromWire(errors[i]);
      });
      mine.catch(() => undefined);
      member.resolve({ result: value, committed: mine });
    });
  }

  /**
   * Posts a message that ends what its caller waits for (a commit, a read outside a transaction).
   * The answer comes once it is durable (after the group's COMMIT); the queue goes on at once.
   */
  private final(batch: Batch): Promise<unknown> {
    batch.flush = !this.groupCommit || this.waiting.length === 0;
    this.groupOpen = !batch.flush;
    const answer = this.channel.send(batch);
    answer.catch(() => undefined); // awaited by the caller after the queue moved on
    return answer;
  }

  /**
   * Rolls back the transaction (or group) that has the connection. Like a final message it says
   * whether anyone waits behind it: the worker's group commit then ends the outer transaction, so a
   * transaction that threw never leaves the write lock held while nobody comes after it (other
   * processes would wait on it).
   */
  private rollback(): Promise<unknown> {
    return this.final({ ops: [], end: "rollback" }).catch(() => undefined);
  }

  /** A transaction alone: a message for each operation whose result it awaits (the deferrable ones held for the next), then the commit. */
  private async alone<T>(fn: (tx: StoreTx) => Promise<T>): Promise<Ran> {
    let begun = false;
    let deferred: Op[] = [];
    const tx = new Tx((name, args) => {
      if (DEFERRABLE_OPERATIONS.has(name)) {
        deferred.push([name, args]);
        return Promise.resolve(undefined);
      }
      const batch: Batch = { begin: !begun, ops: [...deferred, [name, args]] };
      begun = true;
      deferred = [];
      return this.channel.send(batch);
    });
    let result: T;
    try {
      result = await fn(tx as unknown as StoreTx);
    } catch (error) {
      if (begun) await this.rollback();
      throw error;
    }
    if (!begun && deferred.length === 0) return { result };
    return { result, committed: this.final({ begin: !begun, ops: deferred, end: "commit" }) };
  }

  /**
   * One transaction (BankStore.transaction). With `options.group` on the worker with group commit, it
   * may run with other grouped transactions waiting with it as one (group.ts); otherwise alone.
   */
  async transaction<T>(fn: (tx: StoreTx) => Promise<T>, options?: TransactionOptions): Promise<T> {
    const key = typeof options?.group === "string" ? options.group : undefined;
    const ran = await this.enqueue({ alone: () => this.alone(fn), key, fn });
    if (ran.committed) await ran.committed;
    return ran.result as T;
  }

  private async read<T>(name: EngineOperation, ...args: unknown[]): Promise<T> {
    const ran = await this.enqueue({ alone: async () => ({ result: undefined, committed: this.final({ ops: [[name, args]] }) }) });
    return (await ran.committed) as T;
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
    while (this.running) await new Promise<void>((resolve) => this.idle.push(resolve));
    this.closed = true;
    await this.channel.close();
  }
}
