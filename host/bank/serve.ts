// `otp-token bank serve`: the verification service (service.ts) on its own, over a store (SQLite on a
// worker thread, or a PostgreSQL pool), until SIGINT or SIGTERM.
import type { Io } from "../usage.js";
import { Bank } from "./bank.js";
import { MasterKey } from "./crypto.js";
import { DEFAULT_KEY_CACHE_SECONDS, DEFAULT_POOL_SIZE } from "./limits.js";
import { type MetricsServer, startMetricsServer } from "./metrics-server.js";
import { createService, type LogFormat } from "./service.js";
import { isPostgresUrl, openStore } from "./open-store.js";

/** Milliseconds a stopping service lets requests in progress finish before it closes every connection. */
export const SHUTDOWN_GRACE_MS = 3000;

export interface ServeOptions {
  db: string;
  masterKeyFile?: string;
  host: string;
  port: number;
  rateLimit: number;
  /** Failed authentications per minute per client address (ServiceOptions failedAuthLimit). */
  failedAuthLimit?: number;
  outboxDir?: string;
  log: boolean;
  /** PostgreSQL: connections in this instance's pool. */
  poolSize?: number;
  /** PostgreSQL: audit partitions this instance seals at once (host/bank/postgres/sealer.ts). */
  auditSealers?: number;
  /** Seconds an API key's row is reused before it is read again (Bank apiKeyCacheSeconds). */
  keyCacheSeconds?: number;
  /** The delay after a token's first consecutive failure, doubling with each (Bank throttleBaseSeconds); 0: none, the lockout alone. */
  throttleBaseSeconds?: number;
  /** A file the audit chain's head is written to on every seal (also logged on standard error). */
  auditHeadFile?: string;
  /** The request log's form (with `log`): "pretty" (a text line) or "json" (pino). */
  logFormat?: LogFormat;
  /** Prometheus metrics on their own listener (host/bank/metrics.ts); none without it. */
  metricsPort?: number;
  /** The metrics listener's address; default 127.0.0.1 (loopback). */
  metricsHost?: string;
}

export async function serveBank(options: ServeOptions, io: Io, signals: NodeJS.EventEmitter = process): Promise<number> {
  const masterKey = MasterKey.load(options.masterKeyFile);
  if (isPostgresUrl(options.db)) {
    // The connection budget: refuse to start when the pool would not fit in what PostgreSQL has left
    // (read before the store opens: then no other connection of this instance exists yet).
    const { budgetVerdict, probeBudget } = await import("./postgres/budget.js");
    const verdict = budgetVerdict(await probeBudget(options.db, options.poolSize ?? DEFAULT_POOL_SIZE));
    if (verdict.refuse) {
      io.err(`otp-token bank serve: ${verdict.refuse}\n`);
      return 1;
    }
    if (verdict.warn) io.err(`${verdict.warn}\n`);
  }
  const store = await openStore(options.db, { thread: "worker", poolSize: options.poolSize, auditSealers: options.auditSealers });
  let app: Awaited<ReturnType<typeof createService>> | undefined;
  let bank: Bank | undefined;
  let metricsServer: MetricsServer | undefined;
  try {
    bank = await Bank.open(store, masterKey, {
      outboxDir: options.outboxDir,
      actor: "api",
      apiKeyCacheSeconds: options.keyCacheSeconds ?? DEFAULT_KEY_CACHE_SECONDS,
      throttleBaseSeconds: options.throttleBaseSeconds,
      auditHead: { log: (line) => io.err(`${line}\n`), file: options.auditHeadFile },
    });
    const metrics = options.metricsPort === undefined ? undefined : (await import("./metrics.js")).createMetrics(bank);
    app = await createService({
      bank,
      logFormat: options.logFormat,
      instrument: metrics?.instrument,
      rateLimit: options.rateLimit,
      failedAuthLimit: options.failedAuthLimit,
      // The same on every instance, so a gateway's resync state opens on whichever answers the second code.
      resyncKey: masterKey.deriveKey("gateway resync state v1"),
      log: options.log ? (line) => io.err(`${line}\n`) : undefined,
    });
    await app.listen({ port: options.port, host: options.host });
    if (metrics) metricsServer = await startMetricsServer(metrics.registry, options.metricsHost ?? "127.0.0.1", options.metricsPort ?? 0);
  } catch (error) {
    await app?.close();
    await metricsServer?.close();
    await store.close();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL") {
      io.err(`otp-token bank serve: cannot listen on ${options.host}:${options.port}: ${code}\n`);
      return 1;
    }
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  io.out(`listening on http://${host}:${port}\n`);
  if (metricsServer) io.out(`metrics on ${metricsServer.url}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      signals.off("SIGINT", stop);
      signals.off("SIGTERM", stop);
      resolve();
    };
    signals.on("SIGINT", stop);
    signals.on("SIGTERM", stop);
  });
  // Requests in progress get SHUTDOWN_GRACE_MS to finish; then every connection still open is closed,
  // among them the ones a gateway opened in advance and never used (FreeRADIUS's rlm_rest keeps spare
  // connections), which would otherwise hold the stop until the client gives up.
  const force = setTimeout(() => app?.server.closeAllConnections(), SHUTDOWN_GRACE_MS);
  await app.close();
  clearTimeout(force);
  await metricsServer?.close();
  // The head of everything this instance recorded, published before the store closes.
  await bank
    ?.publishAuditHead()
    .catch((error) => io.err(`otp-token bank serve: the audit head was not published: ${(error as Error).message}\n`));
  await store.close();
  return 0;
}
