// Readiness (no key): GET /v1/ready answers 200 when this instance can serve requests now: its
// database answers a read through the same pool or worker the requests use, and the database's
// schema is the one this build migrates to (PostgreSQL: schema_migrations; SQLite is migrated when the
// store opens, so an open store is current). 503 + Retry-After otherwise, with the reason. /v1/health
// stays as it was (the service and its database answer); a load balancer takes an instance in and out
// by /v1/ready, a supervisor restarts one that no longer answers /v1/health.
import type { FastifyInstance } from "fastify";
import { sendError } from "./errors.js";
import { ERROR } from "./schemas.js";

interface PoolLike {
  query(text: string): Promise<{ rows: Record<string, unknown>[] }>;
}

export async function readyRoutes(app: FastifyInstance): Promise<void> {
  const { bank } = app;

  app.get(
    "/v1/ready",
    {
      schema: {
        summary: "whether this instance is ready for requests: its database answers and its schema is current",
        response: {
          200: {
            type: "object",
            properties: {
              status: { type: "string", enum: ["ready"] },
              store: { type: "string" },
              schemaVersion: { type: "integer" },
            },
            required: ["status", "store", "schemaVersion"],
          },
          503: ERROR,
        },
      },
    },
    async (_request, reply) => {
      const store = bank.store as typeof bank.store & { pool?: PoolLike };
      const notReady = (message: string) => sendError(reply, 503, { error: "not-ready", message }, { "Retry-After": "1" });
      try {
        await store.getSetting("service_id");
        if (store.kind === "postgres" && store.pool) {
          const { rows } = await store.pool.query("SELECT coalesce(max(version), 0)::int AS version FROM schema_migrations");
          const version = Number(rows[0]?.version ?? 0);
          if (version !== store.schemaVersion)
            return notReady(`the database's schema is version ${version}, this build's ${store.schemaVersion}: migrate or upgrade`);
        }
      } catch (error) {
        return notReady(`the database does not answer: ${(error as Error).message}`);
      }
      return { status: "ready", store: store.kind, schemaVersion: store.schemaVersion };
    },
  );
}
