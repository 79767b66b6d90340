// otp-token bank: the bank side from the command line — issue, activate, confirm, verify, resync,
// unlock, status — over one SQLite database file. Passwords never come from arguments.
import { readFileSync } from "node:fs";
import { Bank } from "../bank/bank.js";
import { MasterKey, MASTER_KEY_ENV } from "../bank/crypto.js";
import { BankError } from "../bank/errors.js";
import { messageKind } from "../bank/protocol.js";
import { BankStore } from "../bank/store.js";
import { SERVICE_ID_PATTERN, USER_ID_PATTERN } from "../identity.js";
import { integerOption, type Io, parse, UsageError } from "./usage.js";

export const DEFAULT_DB = "./bank.sqlite";
export const DEFAULT_OUTBOX = "./outbox";

const COMMON = `Common options:
  --db PATH               the bank database (SQLite; created if missing), default ${DEFAULT_DB}
  --master-key-file PATH  the master key that encrypts seeds and activation passwords at rest: a file of
                          32 raw bytes or 64 hex digits; without it, the environment variable
                          ${MASTER_KEY_ENV} (64 hex digits) is used
  -h, --help              this help

Exit status: 0 on success, 1 when the bank refuses (the message says why), 2 on a usage error.`;

const IDS = `  --service-id ID         the 8-digit Service ID shown at issue
  --user-id ID            the 16-character User ID shown at issue`;

export const BANK_HELP: Record<string, string> = {
  "": `Usage: otp-token bank <subcommand> [options]

The bank side of the one-time password procedure, over one database file.

Subcommands:
  issue     "issue token": mail address and activation password -> Service ID, User ID, set-up mail
  activate  relay a token's activation message: its request (answered) or its confirmation
  confirm   the first code of an activated token: makes it the customer's active token
  verify    check a login code
  resync    re-synchronise a drifted token with two consecutive codes
  unlock    administrator: clear a token's lock and failure count
  status    what the bank knows about a Service ID and User ID (no secrets), as JSON

Run 'otp-token bank <subcommand> --help' for its options.

${COMMON}
`,
  issue: `Usage: otp-token bank issue --mail ADDRESS [options]

Issues a token: creates the Service ID and User ID, stores the activation password sealed under the
master key (CPace needs it until the token is registered or the issue ends), and writes the set-up
mail into the outbox folder.

The activation password (4-8 letters and digits) and its confirmation are read from a prompt that
does not echo when standard input is a terminal, otherwise from the first two lines of standard
input. They are never taken as arguments.

Options:
  --mail ADDRESS          the customer's mail address (4-64 half-width characters)
  --mail-confirm ADDRESS  the address typed a second time (default: the same as --mail)
  --user-id ID            re-set-up for an existing customer: keep this User ID; the current token
                          keeps working until the new one's first code is confirmed
  --algorithm A           SHA1 (default), SHA256 or SHA512
  --digits N              6 (default), 7 or 8
  --period S              step in seconds, 1-86400 (default 60)
  --label TEXT            shown on the token: 1-12 of A-Z 0-9 space - . / : (default BANK)
  --outbox DIR            where the set-up mail is written, default ${DEFAULT_OUTBOX}
  --ttl S                 seconds the issue can be activated and confirmed, default 86400

${COMMON}
`,
  activate: `Usage: otp-token bank activate [--request HEX] [options]

Relays one activation message of the token (docs/activation.md), read as hex from --request or else
from standard input:
  - its request (message 1, 82 bytes, "send"): prints the bank's response (message 2, 117 bytes) as
    hex. Each new request counts as an attempt until the token's confirmation takes it back; after 5
    the issue is void. The same request again gets the same response and counts nothing.
  - its confirmation (message 3, 106 bytes, "register"): prints "registered"; the token's first code
    can then be confirmed (otp-token bank confirm).
A refused message (unknown, expired, void, replayed, malformed, wrong confirmation) exits with status 1.

Options:
  --request HEX           the message, hex digits (white space ignored)

${COMMON}
`,
  confirm: `Usage: otp-token bank confirm --service-id ID --user-id ID CODE [options]

The bank's confirmation screen: CODE is the first code the activated token shows. On success the
token becomes the customer's active token, replacing the previous one, and the issue is completed.
A wrong code counts toward the same 5-failure limit as wrong activation passwords.

Options:
${IDS}

${COMMON}
`,
  verify: `Usage: otp-token bank verify --service-id ID --user-id ID CODE [options]

Checks a login code within one step each way around the token's recorded drift. A code, or any
code of an earlier step, is accepted at most once. 10 failures in a row lock the token until
'otp-token bank unlock'.

Options:
${IDS}

${COMMON}
`,
  resync: `Usage: otp-token bank resync --service-id ID --user-id ID CODE1 CODE2 [options]

Re-synchronises a token whose clock has drifted: CODE1 and CODE2 are two consecutive codes, found
within 10 steps each way around the recorded drift. Does not unlock a locked token.

Options:
${IDS}

${COMMON}
`,
  unlock: `Usage: otp-token bank unlock --service-id ID --user-id ID [options]

Administrator: clears the token's lock and its consecutive failures. Recorded in the audit log.

Options:
${IDS}

${COMMON}
`,
  status: `Usage: otp-token bank status --service-id ID --user-id ID [options]

Prints, as JSON, the issue and the active token of this Service ID and User ID and the customer's
recent events. No secrets.

Options:
${IDS}

${COMMON}
`,
};

/** Where the command reads standard input from (a test gives its own). */
export interface Stdin {
  isTTY: boolean;
  /** All of standard input as text (not a terminal). */
  readAll(): string;
  /** One line typed at a terminal without echo, after `prompt` on stderr. */
  readSecret(prompt: string): Promise<string>;
}

export const processStdin: Stdin = {
  get isTTY() {
    return process.stdin.isTTY === true;
  },
  readAll: () => readFileSync(0, "utf8"),
  readSecret,
};

function readSecret(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(prompt);
    stdin.setRawMode(true);
    stdin.resume();
    let typed = "";
    const done = (error?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off("data", onData);
      process.stderr.write("\n");
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString("utf8")) {
        if (char === "\r" || char === "\n") return done();
        if (char === "\u0003" || char === "\u0004") return done(new UsageError("cancelled"));
        if (char === "\u007f" || char === "\b") typed = typed.slice(0, -1);
        else typed += char;
      }
    };
    stdin.on("data", onData);
  });
}

const COMMON_OPTIONS = {
  db: { type: "string" },
  "master-key-file": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

const ID_OPTIONS = { ...COMMON_OPTIONS, "service-id": { type: "string" }, "user-id": { type: "string" } } as const;

export function makeBankCommand(stdin: Stdin = processStdin) {
  return async function bankCommand(args: string[], io: Io): Promise<number> {
    const [sub, ...rest] = args;
    if (sub === undefined || sub === "--help" || sub === "-h" || sub === "help") {
      io.out(BANK_HELP[""]);
      return sub === undefined ? 2 : 0;
    }
    if (!Object.hasOwn(BANK_HELP, sub) || sub === "") throw new UsageError(`unknown bank subcommand ${JSON.stringify(sub)}: use issue, activate, confirm, verify, resync, unlock or status`);
    if (rest.includes("--help") || rest.includes("-h")) {
      io.out(BANK_HELP[sub]);
      return 0;
    }
    try {
      return await run(sub, rest, io, stdin);
    } catch (error) {
      if (error instanceof BankError) {
        io.err(`otp-token bank ${sub}: ${error.message} [${error.code}]\n`);
        return 1;
      }
      throw error;
    }
  };
}

export const bankCommand = makeBankCommand();

async function run(sub: string, args: string[], io: Io, stdin: Stdin): Promise<number> {
  switch (sub) {
    case "issue": {
      const { values, positionals } = parse(args, {
        ...COMMON_OPTIONS,
        mail: { type: "string" },
        "mail-confirm": { type: "string" },
        "user-id": { type: "string" },
        algorithm: { type: "string" },
        digits: { type: "string" },
        period: { type: "string" },
        label: { type: "string" },
        outbox: { type: "string" },
        ttl: { type: "string" },
      });
      noPositionals(positionals);
      if (values.mail === undefined) throw new UsageError("--mail is missing");
      const digits = integerOption(values.digits, "digits", 6, 8, 6);
      const period = integerOption(values.period, "period", 1, 86400, 60);
      const ttl = integerOption(values.ttl, "ttl", 60, 30 * 86400, 86400);
      const [password, passwordConfirm] = await readPasswords(stdin);
      return withBank(values, io, { outboxDir: values.outbox ?? DEFAULT_OUTBOX, issueTtlSeconds: ttl }, (bank) => {
        const result = bank.issue({
          mail: values.mail!,
          mailConfirm: values["mail-confirm"] ?? values.mail!,
          password,
          passwordConfirm,
          userId: values["user-id"],
          otp: { algorithm: (values.algorithm ?? "SHA1") as "SHA1", digits, period, ...(values.label === undefined ? {} : { label: values.label }) },
        });
        io.out(
          `Mail address: ${result.mail}\nService ID:   ${result.serviceId}\nUser ID:      ${result.userId}\n` +
            `Set-up URL:   ${result.setupUrl}\nExpires:      ${new Date(result.expiresAt * 1000).toISOString()} (${result.expiresAt})\n` +
            `Set-up mail:  ${result.mailFile}\n`,
        );
        return 0;
      });
    }
    case "activate": {
      const { values, positionals } = parse(args, { ...COMMON_OPTIONS, request: { type: "string" } });
      noPositionals(positionals);
      const text = (values.request ?? stdin.readAll()).replace(/\s+/g, "");
      if (!/^([0-9a-fA-F]{2})*$/.test(text)) throw new UsageError("the request must be hex digits (2 per byte)");
      if (text.length === 0) throw new UsageError("no request: give --request HEX or the hex on standard input");
      return withBank(values, io, {}, (bank) => {
        const message = new Uint8Array(Buffer.from(text, "hex"));
        if (messageKind(message) === "confirmation") {
          io.out(`registered: token serial ${bank.register(message).serial}\n`);
        } else {
          io.out(`${Buffer.from(bank.activate(message)).toString("hex")}\n`);
        }
        return 0;
      });
    }
    case "confirm":
    case "verify": {
      const { values, positionals } = parse(args, ID_OPTIONS);
      const [serviceId, userId] = ids(values);
      if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? "CODE is missing" : `expected one CODE, got ${positionals.length} arguments`);
      return withBank(values, io, {}, (bank) => {
        const result = sub === "confirm" ? bank.confirm(serviceId, userId, positionals[0]) : bank.verify(serviceId, userId, positionals[0]);
        io.out(sub === "confirm" ? `confirmed: the token is active (drift ${result.driftSteps} steps)\n` : `ok: offset ${result.offset}, drift ${result.driftSteps} steps\n`);
        return 0;
      });
    }
    case "resync": {
      const { values, positionals } = parse(args, ID_OPTIONS);
      const [serviceId, userId] = ids(values);
      if (positionals.length !== 2) throw new UsageError(`expected two consecutive codes CODE1 CODE2, got ${positionals.length}`);
      return withBank(values, io, {}, (bank) => {
        const result = bank.resync(serviceId, userId, positionals[0], positionals[1]);
        io.out(`resynchronised: drift ${result.driftSteps} steps\n`);
        return 0;
      });
    }
    case "unlock":
    case "status": {
      const { values, positionals } = parse(args, ID_OPTIONS);
      noPositionals(positionals);
      const [serviceId, userId] = ids(values);
      return withBank(values, io, {}, (bank) => {
        if (sub === "unlock") {
          bank.unlock(serviceId, userId);
          io.out("unlocked\n");
        } else {
          io.out(`${JSON.stringify(bank.status(serviceId, userId), null, 2)}\n`);
        }
        return 0;
      });
    }
  }
  throw new UsageError(`unknown bank subcommand ${JSON.stringify(sub)}`);
}

function noPositionals(positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
}

function ids(values: { "service-id"?: string; "user-id"?: string }): [string, string] {
  const serviceId = values["service-id"];
  const userId = values["user-id"];
  if (serviceId === undefined) throw new UsageError("--service-id is missing");
  if (userId === undefined) throw new UsageError("--user-id is missing");
  if (!SERVICE_ID_PATTERN.test(serviceId)) throw new UsageError("--service-id must be 8 digits");
  if (!USER_ID_PATTERN.test(userId)) throw new UsageError("--user-id must be 16 upper-case letters or digits");
  return [serviceId, userId];
}

async function readPasswords(stdin: Stdin): Promise<[string, string]> {
  if (stdin.isTTY) {
    const password = await stdin.readSecret("Activation password (4-8 letters and digits): ");
    const confirm = await stdin.readSecret("Activation password again: ");
    return [password, confirm];
  }
  const lines = stdin.readAll().split(/\r?\n/);
  if (lines.length < 2 || (lines.length === 2 && lines[1] === "")) {
    throw new UsageError("standard input must hold the activation password and its confirmation, one per line");
  }
  return [lines[0], lines[1]];
}

function withBank(
  values: { db?: string; "master-key-file"?: string },
  io: Io,
  config: { outboxDir?: string; issueTtlSeconds?: number },
  use: (bank: Bank) => number,
): number {
  const masterKey = MasterKey.load(values["master-key-file"]);
  const store = BankStore.open(values.db ?? DEFAULT_DB);
  try {
    return use(new Bank(store, masterKey, { ...config, now: io.now }));
  } finally {
    store.close();
  }
}
