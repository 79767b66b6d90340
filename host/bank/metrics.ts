// Prometheus metrics of `bank serve` (prom-client, README "Operating the service"): served on their
// own listener (`--metrics-port`, loopback by default), not on the API's port behind a key. Why: a
// scraper would need an API key, and the only scope that may read operational state is admin, which
// may also unlock, revoke and export seeds; a Prometheus server holding such a key is a far worse
// leak than aggregate counters on a port only the host (or its scraper, by firewall) reaches. The
// metrics hold no User ID, code or key: counts by outcome and route, latencies, the store's queue.
//
// What is counted: every code check's outcome (confirm, verify, resync, the gateway's authenticate),
// read from its answer; throttled answers and tokens locked by a wrong code; request latency per
// route (the route's pattern, never its User ID); the store's transactions waiting (PostgreSQL pool:
// in use, idle, waiting; SQLite: queued on its one connection) and a histogram of how long each
// waited for its connection (the store tells it, BankStore.waitObserver); on PostgreSQL the audit queue's depth
// and the age of its oldest row (the sealer's lag); tokens by state; the process's own (prom-client's
// default metrics: CPU, memory, event loop lag, file descriptors).
import type { FastifyInstance, onSendHookHandler } from "fastify";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Bank } from "./bank.js";

/** The routes whose answers are code checks (their outcome is counted). */
const CHECK_ROUTES = new Set([
  "/v1/tokens/:userId/confirm",
  "/v1/tokens/:userId/verify",
  "/v1/tokens/:userId/resync",
  "/v1/tokens/:userId/authenticate",
]);

interface PoolLike {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
  query(text: string): Promise<{ rows: Record<string, unknown>[] }>;
}

export interface BankMetrics {
  registry: Registry;
  /** Adds the hooks that count requests and code checks to `app` (before its routes are registered). */
  instrument(app: FastifyInstance): void;
}

/** Status codes as label values, made once each. */
const STATUS_LABELS = new Map<number, string>();
function statusLabel(status: number): string {
  let label = STATUS_LABELS.get(status);
  if (label === undefined) {
    label = String(status);
    STATUS_LABELS.set(status, label);
  }
  return label;
}

/** The outcome a code check's answer states: accepted, or its refusal's code. */
export function checkOutcome(status: number, payload: unknown): string {
  return readAnswer(status, payload).outcome;
}

/** A code check's answer read once: its outcome and, for a refusal, the attempts it left. */
function readAnswer(status: number, payload: unknown): { outcome: string; attemptsLeft?: unknown } {
  if (status === 204) return { outcome: "accepted" };
  if (typeof payload !== "string" || payload === "") return { outcome: `http-${status}` };
  try {
    const body = JSON.parse(payload) as { accepted?: boolean; reason?: string; error?: string; attemptsLeft?: unknown };
    if (body.accepted === true) return { outcome: "accepted" };
    return { outcome: body.reason ?? body.error ?? `http-${status}`, attemptsLeft: body.attemptsLeft };
  } catch {
    return { outcome: `http-${status}` };
  }
}

export function createMetrics(bank: Bank): BankMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "otp_bank_" });
  // Gauges whose names end in _total, which Prometheus keeps for counters (promtool check metrics says so).
  for (const name of ["active_handles_total", "active_requests_total", "active_resources_total"])
    registry.removeSingleMetric(`otp_bank_nodejs_${name}`);

  const verifications = new Counter({
    name: "otp_bank_code_checks_total",
    help: "Code checks (confirm, verify, resync, authenticate) by route and outcome: accepted or the refusal's code",
    labelNames: ["route", "outcome"] as const,
    registers: [registry],
  });
  const throttled = new Counter({
    name: "otp_bank_throttled_total",
    help: "Code checks refused because the token's delay after a wrong code had not passed (429)",
    registers: [registry],
  });
  const locked = new Counter({
    name: "otp_bank_tokens_locked_total",
    help: "Tokens locked by a wrong code (the code that used the last attempt)",
    registers: [registry],
  });
  const refusedLocked = new Counter({
    name: "otp_bank_locked_refusals_total",
    help: "Code checks refused because the token is locked",
    registers: [registry],
  });
  const latency = new Histogram({
    name: "otp_bank_http_request_duration_seconds",
    help: "Time from a request's arrival to its answer, by method, route pattern and status",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  const store = bank.store as typeof bank.store & { pool?: PoolLike; queued?: number };
  const storeWait = new Histogram({
    name: "otp_bank_store_wait_seconds",
    help: "Time a transaction or read waited for the database before it could start: PostgreSQL, for a pool connection (also a wait that ended refused); SQLite, queued for its one connection",
    // From an idle store (microseconds) to PostgreSQL's connect timeout (2 s) and past it.
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  store.waitObserver = (seconds) => storeWait.observe(seconds);
  new Gauge({
    name: "otp_bank_store_transactions_waiting",
    help: "Transactions waiting for the database: PostgreSQL, for a pool connection; SQLite, queued for its one connection",
    registers: [registry],
    collect() {
      this.set(store.kind === "postgres" ? (store.pool?.waitingCount ?? 0) : (store.queued ?? 0));
    },
  });
  if (store.kind === "postgres" && store.pool) {
    const pool = store.pool;
    new Gauge({
      name: "otp_bank_db_pool_connections",
      help: "PostgreSQL pool connections of this instance, in use or idle",
      labelNames: ["state"] as const,
      registers: [registry],
      collect() {
        this.set({ state: "in-use" }, pool.totalCount - pool.idleCount);
        this.set({ state: "idle" }, pool.idleCount);
      },
    });
    const queue = { depth: 0, oldest: 0 };
    // One read of the queue per scrape, shared by both gauges (prom-client collects them concurrently).
    let reading: Promise<void> | null = null;
    const readQueue = () => {
      reading ??= pool
        .query("SELECT count(*)::bigint AS depth, min(at) AS oldest FROM audit_queue")
        .then(({ rows }) => {
          queue.depth = Number(rows[0]?.depth ?? 0);
          queue.oldest = rows[0]?.oldest === null || rows[0]?.oldest === undefined ? 0 : Number(rows[0].oldest);
        })
        .catch(() => undefined)
        .finally(() => {
          reading = null;
        });
      return reading;
    };
    new Gauge({
      name: "otp_bank_audit_queue_depth",
      help: "Audit events committed and not yet chained by a sealer (PostgreSQL audit_queue)",
      registers: [registry],
      async collect() {
        await readQueue();
        this.set(queue.depth);
      },
    });
    new Gauge({
      name: "otp_bank_audit_sealer_lag_seconds",
      help: "Age of the oldest audit event waiting to be chained (0: the queue is empty)",
      registers: [registry],
      async collect() {
        await readQueue();
        this.set(queue.depth === 0 || queue.oldest === 0 ? 0 : Math.max(0, Date.now() / 1000 - queue.oldest));
      },
    });
  } else {
    // SQLite chains every event in the transaction that records it: nothing ever waits.
    new Gauge({ name: "otp_bank_audit_queue_depth", help: "Audit events not yet chained (SQLite: always 0)", registers: [registry] }).set(
      0,
    );
    new Gauge({
      name: "otp_bank_audit_sealer_lag_seconds",
      help: "Age of the oldest audit event waiting to be chained (SQLite: always 0)",
      registers: [registry],
    }).set(0);
  }
  new Gauge({
    name: "otp_bank_tokens",
    help: "Tokens by state (locked: active tokens that are locked)",
    labelNames: ["state"] as const,
    registers: [registry],
    async collect() {
      const counts = await bank.store.countTokens().catch(() => null);
      if (counts) for (const [state, count] of Object.entries(counts)) this.set({ state }, count);
    },
  });

  return {
    registry,
    instrument(app) {
      // Synchronous hooks (no promise per request). The outcome is counted by a hook of each code
      // check's own route only (added as the route is: no other route runs it), as its answer is sent.
      app.addHook("onRoute", (route) => {
        const url = route.url;
        if (url === undefined || !CHECK_ROUTES.has(url)) return;
        const own = route.onSend === undefined ? [] : Array.isArray(route.onSend) ? route.onSend : [route.onSend];
        const count: onSendHookHandler = (_request, reply, payload, done) => {
          const { outcome, attemptsLeft } = readAnswer(reply.statusCode, payload);
          verifications.inc({ route: url, outcome });
          if (outcome === "throttled") throttled.inc();
          if (outcome === "locked") refusedLocked.inc();
          // The wrong code (or replay) that used the last attempt locked the token.
          if ((outcome === "wrong-code" || outcome === "replayed") && attemptsLeft === 0) locked.inc();
          done(null, payload);
        };
        route.onSend = [...own, count] as never;
      });
      app.addHook("onResponse", (request, reply, done) => {
        latency.observe(
          { method: request.method, route: request.routeOptions.url ?? "unmatched", status: statusLabel(reply.statusCode) },
          reply.elapsedTime / 1000,
        );
        done();
      });
    },
  };
}
