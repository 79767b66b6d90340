import { Bank } from "../host/bank/bank.js";
import { MasterKey, aad } from "../host/bank/crypto.js";
import type { PgStore } from "../host/bank/postgres/store.js";
import { openStore } from "../host/bank/store.js";
import { makeUserId } from "../host/identity.js";
import { otpApi } from "../host/otp.js";
import { createHmac } from "node:crypto";
import { startPostgres } from "./postgres-server.js";
const api = otpApi();
const KEY = MasterKey.fromHex("0f".repeat(32));
const START = 1_900_000_020;
const seedOf = (i: number) => createHmac("sha1", "s").update(String(i)).digest();
const uid = (i: number) => makeUserId("10212083", String(i + 1).padStart(7, "0"), 1);
const pg = await startPostgres({ durable: process.argv[2] !== "nosync" });
try {
  pg.createDatabase("b");
  let now = START;
  const store = (await openStore(pg.url("b"), { create: true })) as PgStore;
  const bank = await Bank.open(store, KEY, { now: () => now });
  await bank.updateSettings({ serviceId: "10212083" });
  const N = 5000;
  await store.pool.query("INSERT INTO customers (customer_id, customer_number, created_at) SELECT g, lpad(g::text,7,'0'), 1 FROM generate_series(1,$1) g", [N]);
  for (let i = 0; i < N; i++) {
    const serial = "00000000000000AA";
    await store.pool.query("INSERT INTO tokens (user_id, customer_id, service_id, serial, seed, algorithm, digits, period, label, last_step, activated_at, expires_at) VALUES ($1,$2,'10212083',$3,$4,'SHA1',6,60,'BANK',$5,1,3000000000)", [uid(i), i + 1, serial, KEY.seal(seedOf(i), aad.seed("10212083", uid(i), serial)), Math.floor(START / 60) - 1]);
  }
  for (const clients of [1, 8, 32]) {
    now += 60;
    let next = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: clients }, async () => {
      while (performance.now() - t0 < 2000 && next < N) {
        const i = next++;
        await bank.verify(uid(i), api.totp(seedOf(i), now));
      }
    }));
    const ms = performance.now() - t0;
    console.log(`in process, ${clients} clients: ${(next / (ms / 1000)).toFixed(0)}/s  sealing ${JSON.stringify(store.sealing)}`);
  }
  const { createService } = await import("../host/bank/service.js");
  const { Agent, request } = await import("node:http");
  const { key } = await bank.createApiKey("login", "b");
  const bank2 = await Bank.open(store, KEY, { now: () => now, apiKeyCacheSeconds: Number(process.env.KC ?? 2) });
  const app = await createService({ bank: bank2, rateLimit: 1e8, memoryKeys: [{ key: "memkey", scope: "login", actor: "m" }] });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const port = (app.server.address() as any).port;
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const post = (path: string, k: string, json: unknown) => new Promise<any>((resolve, reject) => {
    const body = JSON.stringify(json);
    const req = request({ host: "127.0.0.1", port, path, method: "POST", agent, headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body), Authorization: `Bearer ${k}` } }, (res) => { const c: Buffer[] = []; res.on("data", (d) => c.push(d)); res.on("end", () => resolve(JSON.parse(Buffer.concat(c).toString()))); });
    req.on("error", reject); req.end(body);
  });
  let base = 0;
  for (const [label, k] of [["stored key", key], ["memory key", "memkey"]]) for (const clients of [1, 8, 32]) {
    now += 60;
    let next = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: clients }, async () => {
      while (performance.now() - t0 < 2000 && next < N) {
        const i = next++;
        const r = await post(`/v1/tokens/${uid(i)}/verify`, k, { code: api.totp(seedOf(i), now) });
        if (!r.accepted) throw new Error(JSON.stringify(r));
      }
    }));
    const ms = performance.now() - t0;
    console.log(`http same process, ${label}, ${clients} clients: ${(next / (ms / 1000)).toFixed(0)}/s`);
  }
  await app.close();
  await store.close();
} finally { pg.stop(); }
