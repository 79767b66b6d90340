// The minimal peer (issue 21): a verification service written the plain way, kept as the baseline the
// capacity bench (bench/bank-capacity.ts) measures our instance against. fastify + otpauth + pg, one
// transaction per verification: SELECT ... FOR UPDATE, check the code (±1 step, not at or before the
// last accepted step), UPDATE, INSERT an audit row, COMMIT. Seeds in clear, a constant bearer token,
// no sealing, no audit chain, no throttle or lockout: what a verification costs at the least.
// A child process of the bench (forked, like bench/bank-instances.ts's servers): it answers
// { port }, takes { now } (the bench's clock) and { stop }.
import Fastify from "fastify";
import * as OTPAuth from "otpauth";
import pg from "pg";

export const PEER_TOKEN = "peer-bench-token";

/** The peer's tables (its own, beside the bank's in the same database). */
export const PEER_SCHEMA = `
CREATE TABLE peer_tokens (user_id text PRIMARY KEY, seed bytea NOT NULL, last_step bigint NOT NULL, failures int NOT NULL DEFAULT 0);
CREATE TABLE peer_audit (id bigserial PRIMARY KEY, at bigint NOT NULL, user_id text NOT NULL, kind text NOT NULL);`;

async function peer(url: string): Promise<void> {
  let now = 0;
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  const app = Fastify();
  app.post<{ Params: { userId: string }; Body: { code: string } }>("/v1/tokens/:userId/verify", async (request, reply) => {
    if (request.headers.authorization !== `Bearer ${PEER_TOKEN}`) return reply.code(401).send({ error: "unauthorized" });
    const { userId } = request.params;
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      const { rows } = await client.query<{ seed: Buffer; last_step: string }>(
        "SELECT seed, last_step FROM peer_tokens WHERE user_id = $1 FOR UPDATE",
        [userId],
      );
      if (rows.length === 0) {
        await client.query("ROLLBACK");
        return reply.code(404).send({ error: "unknown" });
      }
      const totp = new OTPAuth.TOTP({ secret: new OTPAuth.Secret({ buffer: new Uint8Array(rows[0].seed).buffer }), digits: 6, period: 60 });
      const delta = totp.validate({ token: request.body.code, timestamp: now * 1000, window: 1 });
      const step = Math.floor(now / 60) + (delta ?? 0);
      const accepted = delta !== null && step > Number(rows[0].last_step);
      if (accepted) await client.query("UPDATE peer_tokens SET last_step = $2, failures = 0 WHERE user_id = $1", [userId, step]);
      else await client.query("UPDATE peer_tokens SET failures = failures + 1 WHERE user_id = $1", [userId]);
      await client.query("INSERT INTO peer_audit (at, user_id, kind) VALUES ($1, $2, $3)", [now, userId, accepted ? "login" : "failure"]);
      await client.query("COMMIT");
      return { accepted };
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address();
  process.on("message", (message: { now?: number; stop?: boolean }) => {
    if (message.stop) {
      void app
        .close()
        .then(() => pool.end())
        .then(() => process.send!({}, () => process.exit(0)));
      return;
    }
    now = message.now!;
    process.send!({ now });
  });
  process.send!({ port: typeof address === "object" && address ? address.port : 0 });
}

if (process.argv[2] === "--peer") await peer(process.argv[3]);
