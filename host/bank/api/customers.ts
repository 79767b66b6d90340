// Customers (scope login): PUT /v1/customers/{reference}, the bank's backend naming its own customer
// (it authenticates its customers itself; the same reference always answers with the same customer,
// so a retried or repeated call never makes a second customer for one person), and POST /v1/logins,
// the internet-banking login of a customer with a ログインID (steps ① and ⑧), whose ticket names the
// customer to POST /v1/issues.
import type { FastifyInstance } from "fastify";
import { actor, enroll, verify } from "./auth.js";
import { bearer, CODE, ERROR } from "./schemas.js";

const CUSTOMER = {
  type: "object",
  properties: {
    customerNumber: { type: "string", description: "the 7 digits in the middle of the customer's User IDs" },
    reference: { type: ["string", "null"] },
    loginId: { type: ["string", "null"] },
    created: { type: "boolean", description: "false when the reference already named this customer" },
  },
} as const;

export async function customerRoutes(app: FastifyInstance): Promise<void> {
  const { bank } = app;

  app.put(
    "/v1/customers/:reference",
    {
      config: enroll,
      schema: {
        summary: "the bank's backend names its own customer: made once, the same customer for the same reference (idempotent)",
        security: bearer,
        params: {
          type: "object",
          required: ["reference"],
          properties: {
            reference: { type: "string", pattern: "^[\\x21-\\x7e]{1,64}$", description: "the backend's own customer reference" },
          },
        },
        body: { type: "object", additionalProperties: false, properties: {} },
        response: { 200: CUSTOMER, 201: CUSTOMER, "4xx": ERROR },
      },
    },
    async (request, reply) => {
      const { reference } = request.params as { reference: string };
      const customer = await bank.createCustomer({ reference }, actor(request));
      reply.code(customer.created ? 201 : 200);
      return customer;
    },
  );

  app.post(
    "/v1/logins",
    {
      config: verify,
      schema: {
        summary: "internet-banking login: ログインID, ログインパスワード, and the one-time password once the customer has a token",
        security: bearer,
        body: {
          type: "object",
          additionalProperties: false,
          required: ["loginId", "password"],
          properties: { loginId: { type: "string", maxLength: 64 }, password: { type: "string", maxLength: 64 }, code: CODE },
        },
        response: {
          200: {
            type: "object",
            properties: {
              customerNumber: { type: "string" },
              userId: { type: ["string", "null"], description: "the User ID of the customer's token, if any" },
              ticket: { type: "string", description: "names this customer to POST /v1/issues until ticketExpiresAt" },
              ticketExpiresAt: { type: "integer" },
            },
            required: ["customerNumber", "userId", "ticket", "ticketExpiresAt"],
          },
          "4xx": ERROR,
        },
      },
    },
    async (request) => bank.login(request.body as { loginId: string; password: string; code?: string }, actor(request)),
  );
}
