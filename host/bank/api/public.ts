// The routes that need no key: the OpenAPI document and the health check.
import type { FastifyInstance } from "fastify";
import { ERROR } from "./schemas.js";

export async function publicRoutes(app: FastifyInstance): Promise<void> {
  const { bank } = app;

  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  app.get(
    "/v1/health",
    {
      schema: {
        summary: "whether the service and its database answer (503 + Retry-After when the database does not)",
        response: {
          200: {
            type: "object",
            properties: {
              status: { type: "string" },
              store: { type: "string" },
              database: { type: "string" },
              serviceId: { type: "string" },
              mailDomain: { type: "string" },
            },
          },
          503: ERROR,
        },
      },
    },
    async () => {
      // A read through the same pool or worker the requests use: a StoreBusyError here answers 503.
      await bank.store.getSetting("service_id");
      // The Service ID and the sending domain are public: the issue screen shows them.
      return { status: "ok", store: bank.store.kind, database: "reachable", serviceId: bank.serviceId, mailDomain: bank.mailDomain };
    },
  );
}
