// otp-token serve: the browser simulator (the bank's screens beside the token running the real
// firmware) on a local web server over the bank's SQLite file.
import { Bank } from "../bank/bank.js";
import { MasterKey, MASTER_KEY_ENV } from "../bank/crypto.js";
import { BankError } from "../bank/errors.js";
import { type BankStore, StoreOpenError } from "../bank/store.js";
import { openStore } from "../bank/open-store.js";
import { DEFAULT_DB, DEFAULT_OUTBOX } from "../defaults.js";
import { integerOption, type Io, parse } from "../usage.js";
import { MAX_BODY_BYTES } from "../bank/limits.js";
import { DEFAULT_PORT, LISTEN_HOST } from "./defaults.js";

export const SERVE_HELP = `Usage: otp-token serve [options]

Starts the browser simulator of the whole procedure: the bank's screens (Japanese, with an English
switch) beside the token running the real firmware (build/token.wasm) in the page. The server
listens on ${LISTEN_HOST} only and prints its address; stop it with Ctrl-C.

Options:
  --port N                the port, default ${DEFAULT_PORT}; 0 picks a free one (printed)
  --db PATH               the bank database (SQLite; create it with 'otp-token bank init'), default ${DEFAULT_DB}
  --master-key-file PATH  the master key that encrypts seeds and activation passwords at rest: a file of
                          32 raw bytes or 64 hex digits; without it, the environment variable
                          ${MASTER_KEY_ENV} (64 hex digits) is used
  --outbox DIR            where set-up mails are written and read from, default ${DEFAULT_OUTBOX}
  -h, --help              this help

The bank's screens start at the login (the manual's step ①): a customer made with
'otp-token bank customer create --login-id ID' on the same database logs in with that ID and its
password, and once it has a token, the token's one-time password too.
The page's bank screens use the bank's verification API (the /v1 routes of 'otp-token bank serve',
OpenAPI at /openapi.json) with a login key this server makes for itself at start-up; the
administrator page asks for an admin key ('otp-token bank api-key create --scope admin').
Request bodies are at most ${MAX_BODY_BYTES} bytes; each request is logged on standard error as
method, path, status, size and time, never with a body or query.

Exit status: 0 after Ctrl-C, 1 when the bank cannot start (master key, database), 2 on a usage error.
`;

export async function serveCommand(args: string[], io: Io, signals: NodeJS.EventEmitter = process): Promise<number> {
  const { values } = parse(
    args,
    {
      port: { type: "string" },
      db: { type: "string" },
      "master-key-file": { type: "string" },
      outbox: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    false,
  );
  if (values.help) {
    io.out(SERVE_HELP);
    return 0;
  }
  const port = integerOption(values.port, "port", 0, 65535, DEFAULT_PORT);
  const db = values.db ?? DEFAULT_DB;
  const outboxDir = values.outbox ?? DEFAULT_OUTBOX;
  let store: BankStore | undefined;
  let bank: Bank;
  try {
    const masterKey = MasterKey.load(values["master-key-file"]);
    store = await openStore(db, { thread: "worker" });
    bank = await Bank.open(store, masterKey, { outboxDir, actor: "web" });
  } catch (error) {
    await store?.close();
    if (error instanceof BankError) {
      io.err(`otp-token serve: ${error.message} [${error.code}]\n`);
      return 1;
    }
    if (error instanceof StoreOpenError) {
      io.err(`otp-token serve: ${error.message} [${error.code}]\n`);
      return 1;
    }
    throw error;
  }
  // The HTTP framework is loaded only when the simulator runs.
  const { createWebServer, listen } = await import("./server.js");
  const server = await createWebServer({ bank, outboxDir, log: (line) => io.err(`${line}\n`) });
  let url: string;
  try {
    url = await listen(server, port);
  } catch (error) {
    await server.close();
    await store.close();
    io.err(
      `otp-token serve: cannot listen on ${LISTEN_HOST}:${port}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}\n`,
    );
    return 1;
  }
  io.out(`otp-token serve: the browser simulator is at ${url}\n  bank database ${db}, outbox ${outboxDir}\n  Ctrl-C stops it.\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      signals.off("SIGINT", stop);
      signals.off("SIGTERM", stop);
      void server.close().then(() => resolve());
    };
    signals.on("SIGINT", stop);
    signals.on("SIGTERM", stop);
  });
  await store.close();
  io.out("otp-token serve: stopped\n");
  return 0;
}
