// The connection budget (host/bank/postgres/budget.ts): `bank serve` on PostgreSQL refuses to start
// when its pool (--db-pool) would not fit in what the server has left for it, saying the arithmetic,
// and warns when another instance of the same pool would not fit. The server here allows 20
// connections, 3 of them reserved for superusers; the test's role is made an ordinary one.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import { available, budgetVerdict, connectionBudget } from "../host/bank/postgres/budget.js";
import { openStore } from "../host/bank/open-store.js";
import { POSTGRES_SKIP, usePostgres } from "./pg-helpers.js";

const CLI = fileURLToPath(new URL("../dist/host/cli.js", import.meta.url));
const KEY_HEX = "00ff11ee22dd33cc44bb55aa66998877665544332211ffeeddccbbaa99887766";
const postgres = usePostgres({ settings: { max_connections: 20, superuser_reserved_connections: 3 } });
const children: ChildProcess[] = [];
const clients: pg.Client[] = [];
let dir: string;
let keyFile: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "otp-budget-"));
  keyFile = join(dir, "bank.key");
  writeFileSync(keyFile, KEY_HEX, { mode: 0o600 });
});

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  for (const client of clients.splice(0)) await client.end().catch(() => undefined);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `bank serve` with this pool until it listens (then stops it) or exits: which, and its standard error. */
function serve(url: string, pool: number): Promise<{ listening: boolean; stderr: string }> {
  const child = spawn(
    process.execPath,
    [CLI, "bank", "serve", "--port", "0", "--db", url, "--master-key-file", keyFile, "--db-pool", String(pool)],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  children.push(child);
  let stdout = "";
  let stderr = "";
  let listening = false;
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout!.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    if (!listening && stdout.includes("listening on ")) {
      listening = true;
      child.kill("SIGTERM");
    }
  });
  return new Promise((resolve) => child.once("exit", () => resolve({ listening, stderr })));
}

describe.skipIf(POSTGRES_SKIP !== null)("PostgreSQL connection budget", () => {
  it("bank serve refuses a pool that does not fit, with the arithmetic, and warns when a second one would not", async () => {
    const url = postgres.freshUrl();
    const setup = await openStore(url, { create: true });
    await Bank.open(setup, MasterKey.fromHex(KEY_HEX));
    await setup.close();
    // An ordinary login role, so the 3 superuser slots are not the instance's.
    const admin = new pg.Client({ connectionString: url });
    clients.push(admin);
    await admin.connect();
    await admin.query(
      "CREATE ROLE teller LOGIN; GRANT ALL ON ALL TABLES IN SCHEMA public TO teller; GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO teller",
    );
    const tellerUrl = url.replace("//bank@", "//teller@");
    await admin.end();
    clients.length = 0;

    // The budget as the instance sees it: 20 - 3 - nobody else = 17.
    const probe = new pg.Pool({ connectionString: tellerUrl, max: 1 });
    const budget = await connectionBudget(probe, 17);
    await probe.end();
    expect(budget).toMatchObject({ max: 20, superuserReserved: 3, superuser: false, others: 0 });
    expect(available(budget).connections).toBe(17);
    expect(budgetVerdict(budget).refuse).toBeNull();

    const refused = await serve(tellerUrl, 18);
    expect(refused.listening).toBe(false);
    expect(refused.stderr).toContain("a pool of 18 connections (--db-pool) does not fit");
    expect(refused.stderr).toContain(
      "max_connections 20 - 3 reserved for superusers (superuser_reserved_connections) - 0 open by others = 17",
    );
    expect(refused.stderr).toContain("Lower --db-pool to 17 or less");

    const fits = await serve(tellerUrl, 10);
    expect(fits.listening).toBe(true);
    expect(fits.stderr).toContain("this instance's pool takes 10, leaving 7: another instance with --db-pool 10 would be refused");
    expect((await serve(tellerUrl, 5)).stderr).not.toContain("PostgreSQL connections");

    // Ten connections held elsewhere: 17 - 10 = 7 left, so a pool of 8 is refused and one of 7 starts.
    for (let i = 0; i < 10; i++) {
      const client = new pg.Client({ connectionString: url });
      clients.push(client);
      await client.connect();
    }
    const crowded = await serve(tellerUrl, 8);
    expect(crowded.listening).toBe(false);
    expect(crowded.stderr).toContain("- 10 open by others = 7");
    expect((await serve(tellerUrl, 7)).listening).toBe(true);
  }, 120_000);
});
