// otp-token bank: the bank side from the command line over one database — init and settings, issue,
// activate, confirm, verify, resync, the token's lifecycle, status, API keys, the audit trail, PSKC
// export and import, and `serve` (the verification service, host/bank/service.ts, loaded only for it).
// Passwords and passphrases never come from arguments.
import { readFileSync, writeFileSync } from "node:fs";
import { formatHead } from "../bank/audit.js";
import {
  API_SCOPES,
  Bank,
  type BankOptions,
  DEFAULT_CONFIG,
  LOGIN_TICKET_SECONDS,
  MAX_RETENTION_DAYS,
  scopeLabel,
  validateMail,
} from "../bank/bank.js";
import { MasterKey, MASTER_KEY_ENV } from "../bank/crypto.js";
import { BankError } from "../bank/errors.js";
import {
  DEFAULT_FAILED_AUTH_LIMIT,
  DEFAULT_KEY_CACHE_SECONDS,
  DEFAULT_AUDIT_SEALERS,
  DEFAULT_POOL_SIZE,
  DEFAULT_RATE_LIMIT,
  defaultAuditSealers,
  MAX_AUDIT_SEALERS,
  DEFAULT_SERVICE_HOST,
  DEFAULT_SERVICE_PORT,
} from "../bank/limits.js";
import { messageKind } from "../bank/protocol.js";
import { StoreBusyError, StoreOpenError } from "../bank/store.js";
import { isPostgresUrl, openStore } from "../bank/open-store.js";
import { SERVICE_ID_PATTERN, typedCode, USER_ID_HELP, USER_ID_PATTERN } from "../identity.js";
import { attemptsPendingText, bankDateTime, LOGIN, TERMS } from "../terms.js";
import { opsHelp, publishedHeads, runOps } from "./bank-ops.js";
import { answers, processStdin, type Stdin, type Terminal } from "./prompt.js";
import { DATABASE_URL_ENV, DEFAULT_DB, DEFAULT_OUTBOX, databaseOf } from "../defaults.js";
import { integerOption, type Io, parse, UsageError } from "../usage.js";

export { processStdin, type Stdin, type Terminal };
export { DATABASE_URL_ENV, DEFAULT_DB, DEFAULT_OUTBOX, databaseOf } from "../defaults.js";

const COMMON = `Common options:
  --db PATH|URL           the bank database: an SQLite file (default ${DEFAULT_DB}), or PostgreSQL as
                          postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE for several instances
                          (without --db, ${DATABASE_URL_ENV} when it is such a URL); only 'bank init'
                          creates one
  --master-key-file PATH  the master key that encrypts seeds and activation passwords at rest: a file of
                          32 raw bytes or 64 hex digits, readable by its owner only (chmod 600);
                          without it, the environment variable ${MASTER_KEY_ENV} (64 hex digits)
  -h, --help              this help

Exit status: 0 on success, 1 when the bank refuses (the message says why), 2 on a usage error.`;

const USER = `  --user-id ID            the User ID (${USER_ID_HELP};
                          tokens set up before this form have 16 random letters and digits)`;

export const BANK_HELP: Record<string, string> = {
  "": `Usage: otp-token bank <subcommand> [options]

The bank side of the one-time password procedure, over one database (an SQLite file, or PostgreSQL).

Subcommands:
  init       create the bank database (the Service ID and the mail domain are set here)
  settings   show or change the bank's Service ID and mail sending domain
  customer   create a customer with an internet-banking login (ログインID, ログインパスワード); unlock one
  login      ログイン: login ID, login password and, once the customer has a token, its code
  issue      トークン発行: mail address and 利用開始パスワード -> Service ID, User ID, set-up mail
  activate   relay a token's activation message: its request (送信, answered) or its confirmation (登録)
  confirm    認証確認: the first code of an activated token makes it the customer's token
  verify     check a login code
  resync     re-synchronise a drifted token with two consecutive codes
  unlock     administrator: clear a token's lock, failure count and throttling
  suspend    administrator: refuse every code until resume (token reported missing)
  resume     administrator: accept codes again
  revoke     administrator: the token is lost or stolen (final)
  status     a User ID's token and issue as JSON; without --user-id, token counts and renewals due
  api-key    create, list or revoke the verification service's API keys
  transaction 取引認証: create a transfer for the token to sign (its frame), or verify its code
  audit      verify the audit trail's hash chain, or list it
  export     write tokens' seeds to an encrypted PSKC file (RFC 6030)
  import     read tokens from an encrypted PSKC file
  serve      the verification service: an authenticated JSON API (OpenAPI at /openapi.json)
  backup     an online backup of the SQLite database into a new file (0600)
  restore    a backup as a new database, its integrity and audit chain checked first
  check      the store's integrity check and the audit chain
  rekey      re-seal every secret under a new master key, in one transaction

Run 'otp-token bank <subcommand> --help' for its options.

${COMMON}
`,
  init: `Usage: otp-token bank init [--service-id ID] [--mail-domain DOMAIN] [options]

Creates the bank database at --db (which must not exist yet; its folder must). The file and its
-wal and -shm companions are readable by their owner only.

Options:
  --service-id ID         the bank's Service ID, 8 digits (default: a random one, printed); every
                          User ID the bank issues starts with its last 4 digits
  --mail-domain DOMAIN    the domain set-up mails are sent from (default bank.example); the issue
                          screen asks customers to let it through their mail filter

${COMMON}
`,
  settings: `Usage: otp-token bank settings [--service-id ID] [--mail-domain DOMAIN] [--audit-partitions N]
                             [--audit-retention-days N] [options]

Prints the bank's settings; with an option, changes it (recorded in the audit trail). Instances
read the settings when they start. Tokens already issued keep their User IDs.
--audit-partitions N (PostgreSQL): the audit chain is sealed in N partitions (by User ID), each by
one sealer at a time, so N instances seal at once; raised only, never lowered (default 1).
--audit-retention-days N: the audit trail's rows stay in the database N days; 'bank audit archive'
then moves them to the archive (run it daily, say). Not set: archive asks for --older-than-days.

${COMMON}
`,
  issue: `Usage: otp-token bank issue --mail ADDRESS [options]

トークン発行 (token issue): creates the customer's User ID for this issue, stores the 利用開始パスワード
(activation password) sealed under the master key (CPace needs it until the token is registered or
the issue ends), and writes the set-up mail (Japanese, with an English part) into the outbox folder.

The mail address is typed twice: without --mail-confirm, the confirmation is asked at the prompt.
The activation password (4-8 letters and digits) and its confirmation are always read from a
prompt that does not echo, never from arguments. Without a terminal, the answers are the lines
of standard input, in the order they would be asked (confirmation address first, when asked).

Options:
  --mail ADDRESS          the customer's mail address (4-64 half-width characters)
  --mail-confirm ADDRESS  the address typed a second time (asked when not given)
  --user-id ID            re-set-up: a User ID of the customer (their current token's); the new
                          issue gets the customer's next issue number, and the current token keeps
                          working until the new one's first code is confirmed
  --ticket TICKET         the issue of a logged-in customer (the ticket 'bank login' prints): the
                          customer's next issue, a re-set-up when it has had a token
  --customer-reference R  the issue of the customer the bank's backend named (PUT /v1/customers/R)
  --algorithm A           SHA1 (default), SHA256 or SHA512
  --digits N              6 (default), 7 or 8
  --period S              step in seconds, 1-86400 (default 60)
  --label TEXT            shown on the token: 1-12 of A-Z 0-9 space - . / : (default BANK)
  --outbox DIR            where the set-up mail is written, default ${DEFAULT_OUTBOX}
  --ttl S                 seconds the issue can be activated and confirmed, default 86400

${COMMON}
`,
  customer: `Usage: otp-token bank customer create --login-id ID [options]
       otp-token bank customer unlock --login-id ID [options]

create: a customer (a new 7-digit customer number) with an internet-banking login. The ログインID
is ${LOGIN.loginIdHint.en}; the ログインパスワード (${LOGIN.loginPasswordHint.en}) and its
confirmation are read from a prompt that does not echo, never from arguments (without a terminal,
the first two lines of standard input). The bank keeps only its scrypt hash.
unlock: clears a login locked after too many wrong passwords (the help desk, after checking who calls).

Options:
  --login-id ID           the customer's ログインID
  --user-id ID            give the login to the existing customer of this User ID (a token set up
                          before logins) instead of a new customer
  --reference REF         also record the bank backend's own reference for the customer

${COMMON}
`,
  login: `Usage: otp-token bank login --login-id ID [CODE] [options]

ログイン (the manual's steps ① and ⑧): the ログインパスワード is read from a prompt that does not
echo (without a terminal, the first line of standard input). Once the customer has a token, its
one-time password CODE is needed too. Wrong passwords are throttled (a delay after each, doubling)
and lock the login (${DEFAULT_CONFIG.lockoutThreshold} in a row); a wrong code counts on the token.
Prints the customer number, the User ID of its token and a login ticket that names the customer to
'bank issue --ticket' for ${LOGIN_TICKET_SECONDS / 60} minutes.

${COMMON}
`,
  activate: `Usage: otp-token bank activate [--request HEX] [options]

Relays one activation message of the token (docs/activation.md), read as hex from --request or else
from standard input:
  - its request (message 1, 82 bytes, 送信 "send"): prints the bank's response (message 2, 117 bytes)
    as hex, and on standard error (English, then Japanese) the attempts left (あと N 回) should the
    token refuse it at 登録. Each new request counts as an attempt until the token's confirmation
    takes it back (the bank cannot tell a wrong activation password; the token can); after 5 the
    issue is void. The same request again gets the same response and counts nothing.
  - its confirmation (message 3, 106 bytes, 登録 "register"): prints "registered"; the token's first
    code can then be confirmed (otp-token bank confirm).
A refused message (unknown, expired, void, replayed, malformed, wrong confirmation) exits with status 1.

Options:
  --request HEX           the message, hex digits (white space ignored)

${COMMON}
`,
  confirm: `Usage: otp-token bank confirm --user-id ID CODE [options]

認証確認 on the bank's screen: CODE is the first code the activated token shows. On success the
token becomes the customer's token at this User ID, replacing the previous one, and the issue is
completed. A wrong code counts toward the same 5-attempt limit as wrong activation passwords; the
answer says how many attempts are left (あと N 回) and when the issue is void.

Options:
${USER}
  --service-id ID         optional: checked against the User ID's Service ID

${COMMON}
`,
  verify: `Usage: otp-token bank verify --user-id ID CODE [options]

Checks a login code within one step each way around the token's recorded drift. A code, or any
code of an earlier step, is accepted at most once. Each wrong code delays the next check (1 s,
2 s, 4 s, ...); 10 in a row lock the token until 'otp-token bank unlock'.

Options:
${USER}
  --service-id ID         optional: checked against the User ID's Service ID

${COMMON}
`,
  resync: `Usage: otp-token bank resync --user-id ID CODE1 CODE2 [options]

Re-synchronises a token whose clock has drifted: CODE1 and CODE2 are two consecutive codes, found
within 10 steps each way around the recorded drift. Does not unlock a locked token.

Options:
${USER}

${COMMON}
`,
  unlock: `Usage: otp-token bank unlock --user-id ID [options]

Administrator: clears the token's lock, its consecutive failures and its throttling delay.

Options:
${USER}

${COMMON}
`,
  suspend: `Usage: otp-token bank suspend --user-id ID [options]

Administrator: the customer reports the token missing. No code is accepted until 'bank resume'.

Options:
${USER}

${COMMON}
`,
  resume: `Usage: otp-token bank resume --user-id ID [options]

Administrator: the customer found the suspended token. Codes are accepted again.

Options:
${USER}

${COMMON}
`,
  revoke: `Usage: otp-token bank revoke --user-id ID [options]

Administrator: the token is lost or stolen. Final: the customer needs a new token issue.

Options:
${USER}

${COMMON}
`,
  status: `Usage: otp-token bank status [--user-id ID] [--json] [options]

With --user-id: the issue and the token of this User ID and its recent events, as JSON (no secrets).
Without: the bank's Service ID, its tokens by state, and the tokens due for renewal (expiring
within 30 days, or expired).

Options:
${USER}
  --json                  the overview as JSON

${COMMON}
`,
  "api-key": `Usage: otp-token bank api-key create --scope verify|enroll|admin [--name TEXT] [options]
       otp-token bank api-key list [options]
       otp-token bank api-key revoke KEY-ID [options]

API keys of the verification service ('otp-token bank serve'). 'create' prints the new key once:
the database keeps only its id, scope, name and a hash. Scope verify may confirm, verify and
resync (a RADIUS front end, the login screen); scope enroll may issue and relay activation
(issues, activations, registrations); scope admin may read status and the audit trail, unlock,
suspend, resume, revoke and export, and nothing else. Scope login, the name before the split, is
still accepted and is verify+enroll ('list' prints it so). A revoked key is refused by a running
'bank serve' within its --key-cache-seconds (default 2 s).

${COMMON}
`,
  transaction: `Usage: otp-token bank transaction create --user-id ID --to BANK-BRANCH-ACCOUNT --amount YEN --reference TEXT [--name KANA] [options]
       otp-token bank transaction verify TRANSACTION-ID CODE [options]

取引認証 (docs/transaction-signing.md). 'create' keeps the transfer with a fresh nonce and prints its id,
the frame the bank's page draws (as text: 'otp-token token transfer FRAME' enters it by hand) and its
expiry. 'verify' checks the token's code for it: accepted once, before the expiry; a wrong code counts
toward the token's lock as a wrong login code does.

  --to 0001-001-1234567   bank code (4 digits), branch (3), account number (7)
  --name ﾔﾏﾀﾞ ﾀﾛｳ          the account name in half-width katakana (shown and signed)

${COMMON}
`,
  audit: `Usage: otp-token bank audit verify [--head ID:MAC | --head-file FILE] [--archive DIR] [options]
       otp-token bank audit list [--since ID] [--limit N] [options]
       otp-token bank audit archive --dir DIR [--older-than-days N] [options]

Every event (issues, activations, logins, refusals, administration, with who acted) is appended
to the audit trail, signed by the bank when it is recorded (a writer MAC) and chained to the row
before it (a chain MAC), both under keys only the master key opens. 'verify' walks the trail: exit
0 and the head (last id and MAC), or exit 1 naming the first row that was altered, deleted,
inserted, moved or not written by the bank, or a queued row the sealer refuses. Cutting off the
newest rows leaves a valid shorter trail: give the head recorded earlier ('bank serve
--audit-head-file' keeps it current, its log prints it on every seal) and a trail that does not
reach it, or differs there, fails too. 'list' prints events as JSON lines.

'archive' is the trail's retention: the sealed rows recorded more than N days ago (the bank's
'bank settings --audit-retention-days', or --older-than-days) move to segment files in DIR (gzip'd
JSON lines, each with the chain state every partition starts from and ends on) and are deleted
from the database; the newest row, and rows of the last 5 minutes, always stay. On PostgreSQL every
partition is archived, interleaved as in the trail. The cut falls where time separates what goes
from what stays, and the database keeps it (MAC'd): a copy of an archived event put back in the
database or the queue is refused (its time is at or before the newest archived event's). Run it as
often as the retention asks (daily, say), one at a time; keep DIR as you keep the trail. 'verify
--archive DIR' then checks the archive and the database as one trail (without it, a pruned
database fails: its first rows are missing).

Options:
  --head ID:MAC           a head recorded earlier, as 'verify' prints it (PART:ID:MAC for a row of
                          partition PART; several separated by commas)
  --head-file FILE        the same, read from a file ('bank serve --audit-head-file': one line each)
  --archive DIR           verify: the archived segments ('archive --dir'), checked before the database
  --dir DIR               archive: the folder of the segments (it must exist)
  --older-than-days N     archive: the retention, in days (0: every sealed row but the newest and
                          the last 5 minutes'); default: the bank's --audit-retention-days

${COMMON}
`,
  export: `Usage: otp-token bank export --out FILE [--user-id ID]... (--passphrase | --key-file F)
                           [--sign-key KEY.pem [--sign-cert CERT.pem]] [options]

Writes the tokens' seeds (every unrevoked token, or the --user-id ones) to an encrypted PSKC file
(RFC 6030): AES-256-CBC under a key derived from a passphrase (--passphrase: PBKDF2-HMAC-SHA256,
§6.2; the passphrase, at least 12 characters, is asked at a prompt that does not echo) or under a
pre-shared key (--key-file: a file of 32 or 64 hex digits, §6.1), with a MAC on every value.
The MACs cover the secrets only: to let the receiving bank keep the User IDs and serials, sign the
file (§7) with --sign-key (a PEM private key: an enveloped XML signature over the whole
KeyContainer, exclusive C14N, a SHA-256 digest, RSA-SHA256 or ECDSA on P-256/384/521 with
SHA-256/384/512) and give the receiver the certificate, for 'bank import --signer-cert';
--sign-cert puts that certificate in the signature's KeyInfo. The file is created readable by its
owner only. Recorded in the audit trail.

${COMMON}
`,
  import: `Usage: otp-token bank import FILE (--passphrase | --key-file F) [--signer-cert CERT.pem] [options]

Reads the TOTP keys of an encrypted PSKC file (RFC 6030 §6.1 or §6.2) and stores them as active
tokens, all or none. Every secret must carry a MAC (MACMethod and ValueMAC); an altered value, IV
or MAC is refused. The MACs do not cover a key's UserId or serial, so:
  without --signer-cert  every key gets a new customer and User ID, whatever UserId the file
                         names; the mapping (serial, new User ID, the file's User ID) is printed
  --signer-cert CERT     the file must carry an XML signature (§7) over the whole KeyContainer
                         that verifies with this certificate's key (RSA or ECDSA, SHA-256/384/512;
                         a certificate inside the file is not trusted); then a key's UserId is
                         kept, and a key without one gets a new customer and User ID
A User ID already in the bank is refused: nothing stored is replaced. Any refusal stores nothing.

${COMMON}
`,
  serve: `Usage: otp-token bank serve [--port N] [--host ADDRESS] [options]

Starts the verification service: a JSON API for the bank's internet-banking backend, every route
but /v1/health and /openapi.json behind an API key ('otp-token bank api-key create'). Prints
'listening on http://HOST:PORT' when ready; Ctrl-C (or SIGTERM) stops it. Stateless apart from the
database: several instances can serve one bank, on one PostgreSQL database (--db postgres://...,
each with the same master key; see README, "Running more than one instance"), or on one SQLite
file on one machine.

Options:
  --port N                the port, default ${DEFAULT_SERVICE_PORT}; 0 picks a free one
  --host ADDRESS          the address to listen on, default ${DEFAULT_SERVICE_HOST}
  --rate-limit N          requests per minute each API key may make (per instance), default ${DEFAULT_RATE_LIMIT}
  --failed-auth-limit N   requests per minute with no, a malformed, an unknown or a wrong API key each
                          client address may make (per instance), default ${DEFAULT_FAILED_AUTH_LIMIT}; past it that
                          address gets 429 + Retry-After without a database read (keys that worked
                          here before are not held to it)
  --outbox DIR            where set-up mails of issues made through the API are written, default ${DEFAULT_OUTBOX}
  --log                   one line per request on standard error (method, path, status, time)
  --log-format F          pretty (the line above) or json (one JSON object a line: time, request
                          id, method, route, path, status, time taken, the API key's id; never a
                          key, a code, a password or a seed); implies --log
  --metrics-port N        Prometheus metrics at http://127.0.0.1:N/metrics (a listener of its own,
                          no API key; 0 picks a free port and prints it); none by default
  --metrics-host ADDRESS  the metrics listener's address, default 127.0.0.1
  --db-pool N             PostgreSQL: connections this instance keeps, default ${DEFAULT_POOL_SIZE}
  --audit-sealers S       PostgreSQL: audit partitions this instance seals at once, 1-${MAX_AUDIT_SEALERS}, default
                          ${DEFAULT_AUDIT_SEALERS} (at most --db-pool less one: each sealing loop holds a connection
                          while it seals); with at least instances x S partitions ('bank settings
                          --audit-partitions'), every loop of every instance seals a partition at once
  --throttle-base-seconds N
                          after a token's k-th consecutive wrong code, no code is checked for
                          N * 2^(k-1) seconds (at most ${DEFAULT_CONFIG.throttleMaxSeconds}), default ${DEFAULT_CONFIG.throttleBaseSeconds}; 0: no delay, only
                          the lockout after ${DEFAULT_CONFIG.lockoutThreshold}
  --key-cache-seconds N   seconds an API key, once read, is trusted before it is read again,
                          default ${DEFAULT_KEY_CACHE_SECONDS} (0-60; 0: read at every request): a revoked key
                          is refused by every instance at most this long after 'api-key revoke'
  --audit-head-file FILE  the audit trail's head (ID:MAC) is written here after every seal, and
                          logged on standard error: keep it where the database's writers cannot
                          (another machine, a write-once store); 'bank audit verify --head-file'

${COMMON}
`,
  ...opsHelp(COMMON),
};

const SUBCOMMANDS = Object.keys(BANK_HELP).filter((name) => name !== "");

const COMMON_OPTIONS = {
  db: { type: "string" },
  "master-key-file": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

const USER_OPTIONS = { ...COMMON_OPTIONS, "user-id": { type: "string" }, "service-id": { type: "string" } } as const;

export function makeBankCommand(stdin: Terminal = processStdin) {
  return async function bankCommand(args: string[], io: Io): Promise<number> {
    const [sub, ...rest] = args;
    if (sub === undefined || sub === "--help" || sub === "-h" || sub === "help") {
      io.out(BANK_HELP[""]);
      return 0;
    }
    if (!SUBCOMMANDS.includes(sub)) throw new UsageError(`unknown bank subcommand ${JSON.stringify(sub)}: use ${SUBCOMMANDS.join(", ")}`);
    if (rest.includes("--help") || rest.includes("-h")) {
      io.out(BANK_HELP[sub]);
      return 0;
    }
    try {
      return await run(sub, rest, io, stdin);
    } catch (error) {
      if (error instanceof BankError) {
        // The customer's words: Japanese alone under a Japanese locale; else English, then the Japanese.
        io.err(
          io.lang === "ja" && error.ja
            ? `otp-token bank ${sub}: ${error.ja} [${error.code}]\n`
            : `otp-token bank ${sub}: ${error.message} [${error.code}]\n${error.ja ? `  ${error.ja}\n` : ""}`,
        );
        return 1;
      }
      if (error instanceof StoreOpenError || error instanceof StoreBusyError) {
        io.err(`otp-token bank ${sub}: ${error.message} [${error.code}]\n`);
        return 1;
      }
      throw error;
    }
  };
}

export const bankCommand = makeBankCommand();

type CommonValues = { db?: string; "master-key-file"?: string };

/** Opens the bank for one command and closes it afterwards. */
async function withBank<T>(values: CommonValues, io: Io, config: BankOptions, use: (bank: Bank) => Promise<T>, create = false): Promise<T> {
  const masterKey = MasterKey.load(values["master-key-file"]);
  const store = await openStore(databaseOf(values), { create });
  try {
    return await use(await Bank.open(store, masterKey, { now: io.now, actor: "cli", ...config }));
  } finally {
    await store.close();
  }
}

function noPositionals(positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
}

function userIdOption(values: { "user-id"?: string; "service-id"?: string }): string {
  const userId = values["user-id"]?.toUpperCase();
  if (userId === undefined) throw new UsageError("--user-id is missing");
  if (!USER_ID_PATTERN.test(userId)) throw new UsageError(`--user-id must be ${USER_ID_HELP}`);
  if (values["service-id"] !== undefined && !SERVICE_ID_PATTERN.test(values["service-id"]))
    throw new UsageError("--service-id must be 8 digits");
  return userId;
}

/** A --service-id given beside the User ID must be that User ID's. */
async function checkServiceId(bank: Bank, userId: string, serviceId: string | undefined): Promise<void> {
  if (serviceId === undefined) return;
  const status = await bank.status(userId).catch(() => null);
  if (status && status.serviceId !== serviceId)
    throw new BankError("unknown", `the User ID ${userId} belongs to Service ID ${status.serviceId}, not ${serviceId}`);
}

const when = (unixSeconds: number) =>
  `${bankDateTime(unixSeconds)} (${new Date(unixSeconds * 1000).toISOString().replace(/\.\d+Z$/, "Z")})`;

async function run(sub: string, args: string[], io: Io, stdin: Terminal): Promise<number> {
  switch (sub) {
    case "init": {
      const { values, positionals } = parse(args, {
        ...COMMON_OPTIONS,
        "service-id": { type: "string" },
        "mail-domain": { type: "string" },
      });
      noPositionals(positionals);
      const path = databaseOf(values);
      if (values["service-id"] !== undefined && !SERVICE_ID_PATTERN.test(values["service-id"]))
        throw new UsageError("--service-id must be 8 digits");
      if (path === ":memory:") throw new UsageError("--db must be a file path");
      if (isPostgresUrl(path)) {
        const { postgresHasBank, redactUrl } = await import("../bank/postgres/store.js");
        if (await postgresHasBank(path)) {
          throw new StoreOpenError(
            `${redactUrl(path)} already holds a bank database: 'bank init' creates a new one only (use 'bank settings' to change one)`,
          );
        }
      } else {
        const { existsSync, statSync } = await import("node:fs");
        if (existsSync(path) && !(statSync(path).isFile() && statSync(path).size === 0)) {
          throw new StoreOpenError(`${path} already exists: 'bank init' creates a new database only (use 'bank settings' to change one)`);
        }
      }
      return withBank(
        values,
        io,
        {},
        async (bank) => {
          await bank.updateSettings({ serviceId: values["service-id"], mailDomain: values["mail-domain"] });
          io.out(`Created the bank database ${bank.store.location}\nService ID:   ${bank.serviceId}\nMail domain:  ${bank.mailDomain}\n`);
          return 0;
        },
        true,
      );
    }
    case "settings": {
      const { values, positionals } = parse(args, {
        ...COMMON_OPTIONS,
        "service-id": { type: "string" },
        "mail-domain": { type: "string" },
        "audit-partitions": { type: "string" },
        "audit-retention-days": { type: "string" },
      });
      noPositionals(positionals);
      const partitions =
        values["audit-partitions"] === undefined ? undefined : integerOption(values["audit-partitions"], "audit-partitions", 1, 1024, 1);
      const retention =
        values["audit-retention-days"] === undefined
          ? undefined
          : integerOption(values["audit-retention-days"], "audit-retention-days", 0, MAX_RETENTION_DAYS, 0);
      return withBank(values, io, {}, async (bank) => {
        if (values["service-id"] !== undefined || values["mail-domain"] !== undefined || retention !== undefined) {
          await bank.updateSettings({ serviceId: values["service-id"], mailDomain: values["mail-domain"], auditRetentionDays: retention });
        }
        if (partitions !== undefined && !bank.store.auditPartitions)
          throw new UsageError("--audit-partitions: only a PostgreSQL store seals the trail in partitions (SQLite has one writer)");
        if (partitions !== undefined) {
          const now = await bank.store.auditPartitions!(partitions);
          if (now > partitions) io.err(`otp-token bank settings: the trail has ${now} audit partitions already; they are never fewer\n`);
        }
        io.out(`Service ID:   ${bank.serviceId}\nMail domain:  ${bank.mailDomain}\n`);
        io.out(`Audit retention: ${bank.auditRetentionDays === null ? "not set" : `${bank.auditRetentionDays} days`}\n`);
        if (bank.store.auditPartitions) io.out(`Audit partitions: ${await bank.store.auditPartitions()}\n`);
        return 0;
      });
    }
    case "issue": {
      const { values, positionals } = parse(args, {
        ...COMMON_OPTIONS,
        mail: { type: "string" },
        "mail-confirm": { type: "string" },
        "user-id": { type: "string" },
        ticket: { type: "string" },
        "customer-reference": { type: "string" },
        algorithm: { type: "string" },
        digits: { type: "string" },
        period: { type: "string" },
        label: { type: "string" },
        outbox: { type: "string" },
        ttl: { type: "string" },
      });
      noPositionals(positionals);
      if (values.mail === undefined) throw new UsageError("--mail is missing");
      if ([values["user-id"], values.ticket, values["customer-reference"]].filter((v) => v !== undefined).length > 1)
        throw new UsageError("give one of --user-id, --ticket and --customer-reference");
      const digits = integerOption(values.digits, "digits", 6, 8, 6);
      const period = integerOption(values.period, "period", 1, 86400, 60);
      const ttl = integerOption(values.ttl, "ttl", 60, 30 * 86400, 86400);
      const ja = io.lang === "ja";
      const mail = values.mail;
      const askMail = values["mail-confirm"] === undefined;
      // The mail address pair is checked before any password is asked.
      if (!askMail) validateMail(mail, values["mail-confirm"]!);
      const typed = await answers(
        stdin,
        [
          ...(askMail
            ? [
                {
                  prompt: ja ? `${TERMS.mobileMail.ja}（${TERMS.reenter.ja}）: ` : "Mail address again (携帯電話メールアドレス 再入力): ",
                  secret: false,
                  check: (again: string) => validateMail(mail, again),
                },
              ]
            : []),
          {
            prompt: ja
              ? `${TERMS.activationPassword.ja}（${TERMS.passwordHint.ja}）: `
              : "利用開始パスワード / activation password (4-8 letters and digits): ",
            secret: true,
          },
          {
            prompt: ja
              ? `${TERMS.activationPassword.ja}（${TERMS.reenter.ja}）: `
              : "利用開始パスワード again / activation password again: ",
            secret: true,
          },
        ],
        askMail ? "the mail address again, the activation password and its confirmation" : "the activation password and its confirmation",
      );
      const mailConfirm = askMail ? typed[0] : values["mail-confirm"]!;
      const [password, passwordConfirm] = typed.slice(askMail ? 1 : 0);
      const outboxDir = values.outbox ?? DEFAULT_OUTBOX;
      return withBank(values, io, { outboxDir, issueTtlSeconds: ttl }, async (bank) => {
        const result = await bank.issue({
          mail,
          mailConfirm,
          password,
          passwordConfirm,
          userId: values["user-id"]?.toUpperCase(),
          ticket: values.ticket,
          customerReference: values["customer-reference"],
          otp: {
            algorithm: (values.algorithm ?? "SHA1") as "SHA1",
            digits,
            period,
            ...(values.label === undefined ? {} : { label: values.label }),
          },
        });
        io.out(
          ja
            ? `${TERMS.destinationMail.ja}: ${result.mail}\n${TERMS.serviceId.ja}: ${result.serviceId}\n${TERMS.userId.ja}: ${result.userId}\n` +
                `設定期限: ${bankDateTime(result.expiresAt)}\nトークン有効期限: ${bankDateTime(result.tokenExpiresAt)}\n設定メール: ${result.mailFile}\n` +
                (result.noticeMailFile === undefined ? "" : `お知らせメール: ${result.noticeMailFile}（登録済みのアドレスへ）\n`)
            : `Mail address: ${result.mail}\nService ID:   ${result.serviceId}\nUser ID:      ${result.userId}\n` +
                `Set up by:    ${when(result.expiresAt)}\nToken until:  ${when(result.tokenExpiresAt)}\nSet-up mail:  ${result.mailFile}\n` +
                (result.noticeMailFile === undefined ? "" : `Notice mail:  ${result.noticeMailFile} (to the address on record)\n`),
        );
        return 0;
      });
    }
    case "customer": {
      const [action, ...more] = args;
      if (action !== "create" && action !== "unlock") throw new UsageError("use 'bank customer create' or 'bank customer unlock'");
      const { values, positionals } = parse(more, {
        ...COMMON_OPTIONS,
        "login-id": { type: "string" },
        "user-id": { type: "string" },
        reference: { type: "string" },
      });
      noPositionals(positionals);
      const loginId = values["login-id"];
      if (action === "unlock") {
        if (loginId === undefined) throw new UsageError("--login-id is missing");
        return withBank(values, io, {}, async (bank) => {
          await bank.unlockLogin(loginId);
          io.out(io.lang === "ja" ? `${LOGIN.loginId.ja} ${loginId} のロックを解除しました。\n` : `unlocked the login ${loginId}\n`);
          return 0;
        });
      }
      if (loginId === undefined && values.reference === undefined) throw new UsageError("--login-id is missing");
      const ja = io.lang === "ja";
      const typed =
        loginId === undefined
          ? []
          : await answers(
              stdin,
              [
                {
                  prompt: ja
                    ? `${LOGIN.loginPassword.ja}（${LOGIN.loginPasswordHint.ja}）: `
                    : `Login password (${LOGIN.loginPasswordHint.en}): `,
                  secret: true,
                },
                { prompt: ja ? `${LOGIN.loginPassword.ja}（${TERMS.reenter.ja}）: ` : "Login password again: ", secret: true },
              ],
              "the login password and its confirmation",
            );
      return withBank(values, io, {}, async (bank) => {
        const made = await bank.createCustomer({
          loginId,
          password: typed[0],
          passwordConfirm: typed[1],
          reference: values.reference,
          userId: values["user-id"]?.toUpperCase(),
        });
        io.out(
          ja
            ? `お客様番号: ${made.customerNumber}\n${LOGIN.loginId.ja}: ${made.loginId ?? "-"}\n`
            : `Customer number: ${made.customerNumber}\nLogin ID:        ${made.loginId ?? "-"}\n`,
        );
        return 0;
      });
    }
    case "login": {
      const { values, positionals } = parse(args, { ...COMMON_OPTIONS, "login-id": { type: "string" } });
      if (values["login-id"] === undefined) throw new UsageError("--login-id is missing");
      if (positionals.length > 1) throw new UsageError(`expected at most one CODE, got ${positionals.length} arguments`);
      const code = positionals.length === 1 ? typedCode(positionals[0]) : undefined;
      const ja = io.lang === "ja";
      const [password] = await answers(
        stdin,
        [{ prompt: ja ? `${LOGIN.loginPassword.ja}: ` : "Login password: ", secret: true }],
        "the login password",
      );
      return withBank(values, io, {}, async (bank) => {
        const result = await bank.login({ loginId: values["login-id"]!, password, code });
        io.out(
          ja
            ? `ログインしました。\nお客様番号: ${result.customerNumber}\n${TERMS.userId.ja}: ${result.userId ?? "-"}\n` +
                `ログインチケット: ${result.ticket}\n`
            : `logged in\nCustomer number: ${result.customerNumber}\nUser ID:         ${result.userId ?? "-"}\n` +
                `Login ticket:    ${result.ticket}\n`,
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
      return withBank(values, io, {}, async (bank) => {
        const message = new Uint8Array(Buffer.from(text, "hex"));
        if (messageKind(message) === "confirmation") {
          io.out(`registered: token serial ${(await bank.register(message)).serial}\n`);
        } else {
          const answer = await bank.activate(message);
          io.out(`${Buffer.from(answer.response).toString("hex")}\n`);
          // In the manual's words, as the bank's refusals are printed: English, then the customer's Japanese.
          const note = attemptsPendingText(answer.attemptsLeft);
          io.err(`${note.en}\n  ${note.ja}\n`);
        }
        return 0;
      });
    }
    case "confirm":
    case "verify": {
      const { values, positionals } = parse(args, USER_OPTIONS);
      const userId = userIdOption(values);
      if (positionals.length !== 1)
        throw new UsageError(positionals.length === 0 ? "CODE is missing" : `expected one CODE, got ${positionals.length} arguments`);
      const code = typedCode(positionals[0]);
      return withBank(values, io, {}, async (bank) => {
        await checkServiceId(bank, userId, values["service-id"]);
        const result = sub === "confirm" ? await bank.confirm(userId, code) : await bank.verify(userId, code);
        const ja = io.lang === "ja";
        io.out(
          sub === "confirm"
            ? ja
              ? `${TERMS.confirmButton.ja}が完了しました。トークンが有効になりました。\n`
              : `confirmed: the token is active (drift ${result.driftSteps} steps)\n`
            : ja
              ? `${TERMS.oneTimePassword.ja}を確認しました。\n`
              : `ok: offset ${result.offset}, drift ${result.driftSteps} steps\n`,
        );
        return 0;
      });
    }
    case "resync": {
      const { values, positionals } = parse(args, USER_OPTIONS);
      const userId = userIdOption(values);
      if (positionals.length !== 2) throw new UsageError(`expected two consecutive codes CODE1 CODE2, got ${positionals.length}`);
      return withBank(values, io, {}, async (bank) => {
        const result = await bank.resync(userId, typedCode(positionals[0]), typedCode(positionals[1]));
        io.out(`resynchronised: drift ${result.driftSteps} steps\n`);
        return 0;
      });
    }
    case "unlock":
    case "suspend":
    case "resume":
    case "revoke": {
      const { values, positionals } = parse(args, USER_OPTIONS);
      noPositionals(positionals);
      const userId = userIdOption(values);
      return withBank(values, io, {}, async (bank) => {
        await bank[sub](userId);
        io.out(`${{ unlock: "unlocked", suspend: "suspended", resume: "resumed", revoke: "revoked" }[sub]}\n`);
        return 0;
      });
    }
    case "status": {
      const { values, positionals } = parse(args, { ...USER_OPTIONS, json: { type: "boolean" } });
      noPositionals(positionals);
      const userId = values["user-id"] === undefined ? undefined : userIdOption(values);
      return withBank(values, io, {}, async (bank) => {
        if (userId !== undefined) {
          io.out(`${JSON.stringify(await bank.status(userId), null, 2)}\n`);
          return 0;
        }
        const overview = await bank.overview();
        if (values.json) {
          io.out(`${JSON.stringify(overview, null, 2)}\n`);
          return 0;
        }
        const t = overview.tokens;
        io.out(`Service ID ${overview.serviceId}, mail domain ${overview.mailDomain}\n`);
        io.out(`Tokens: ${t.active} active, ${t.suspended} suspended, ${t.revoked} revoked (${t.locked} locked)\n`);
        io.out(`Due for renewal (expiring within 30 days): ${overview.dueForRenewal.length}\n`);
        for (const due of overview.dueForRenewal)
          io.out(`  ${due.userId}  serial ${due.serial}  ${due.state}  expires ${when(due.expiresAt)}\n`);
        return 0;
      });
    }
    case "api-key": {
      const [action, ...rest] = args;
      if (action === "create") {
        const { values, positionals } = parse(rest, { ...COMMON_OPTIONS, scope: { type: "string" }, name: { type: "string" } });
        noPositionals(positionals);
        const scope = API_SCOPES.find((s) => s === values.scope);
        if (scope === undefined) throw new UsageError("--scope must be verify, enroll or admin (login, the older name, is verify+enroll)");
        return withBank(values, io, {}, async (bank) => {
          const key = await bank.createApiKey(scope, values.name ?? "");
          io.out(`${key.key}\n`);
          io.err(
            `API key ${key.keyId} (scope ${scopeLabel(key.scope)}) created. It is shown only this once: keep it in the backend's secret store.\n`,
          );
          return 0;
        });
      }
      if (action === "list") {
        const { values, positionals } = parse(rest, COMMON_OPTIONS);
        noPositionals(positionals);
        return withBank(values, io, {}, async (bank) => {
          for (const key of await bank.listApiKeys()) {
            io.out(
              `${key.keyId}  ${scopeLabel(key.scope).padEnd(5)}  ${key.revokedAt === null ? "active " : "revoked"}  created ${new Date(key.createdAt * 1000).toISOString()}  ${key.name}\n`,
            );
          }
          return 0;
        });
      }
      if (action === "revoke") {
        const { values, positionals } = parse(rest, COMMON_OPTIONS);
        if (positionals.length !== 1) throw new UsageError("give the id of the key to revoke (see 'bank api-key list')");
        return withBank(values, io, {}, async (bank) => {
          await bank.revokeApiKey(positionals[0]);
          io.out(`revoked ${positionals[0]}\n`);
          return 0;
        });
      }
      throw new UsageError("use 'bank api-key create', 'list' or 'revoke'");
    }
    case "transaction": {
      const [action, ...rest] = args;
      if (action === "create") {
        const { values, positionals } = parse(rest, {
          ...USER_OPTIONS,
          to: { type: "string" },
          amount: { type: "string" },
          reference: { type: "string" },
          name: { type: "string" },
        });
        noPositionals(positionals);
        const userId = userIdOption(values);
        const to = /^([0-9]{4})-([0-9]{3})-([0-9]{7})$/.exec(values.to ?? "");
        if (!to) throw new UsageError("--to must be BANK-BRANCH-ACCOUNT: 4, 3 and 7 digits, like 0001-001-1234567");
        if (!/^[1-9][0-9]{0,11}$/.test(values.amount ?? "")) throw new UsageError("--amount must be whole yen, 1 to 999999999999");
        if (values.reference === undefined) throw new UsageError("--reference is missing (the backend's reference for the transfer)");
        return withBank(values, io, {}, async (bank) => {
          const payee = { bankCode: to[1], branch: to[2], account: to[3], ...(values.name ? { name: values.name } : {}) };
          let created: Awaited<ReturnType<Bank["createTransaction"]>>;
          try {
            created = await bank.createTransaction({ userId, payee, amount: Number(values.amount), reference: values.reference! });
          } catch (error) {
            if (error instanceof RangeError || error instanceof TypeError) throw new UsageError(error.message);
            throw error;
          }
          io.out(
            `transaction ${created.transactionId}\nframe ${created.frame}\nexpires ${when(created.expiresAt)}\ndigest ${created.digest}\n`,
          );
          return 0;
        });
      }
      if (action === "verify") {
        const { values, positionals } = parse(rest, COMMON_OPTIONS);
        if (positionals.length !== 2) throw new UsageError("give the transaction's id and the token's code");
        return withBank(values, io, {}, async (bank) => {
          const result = await bank.verifyTransaction(positionals[0], positionals[1]);
          io.out(`accepted: ${result.reference} (digest ${result.digest})\n`);
          return 0;
        });
      }
      throw new UsageError("use 'bank transaction create' or 'verify'");
    }
    case "audit": {
      const [action, ...rest] = args;
      if (action === "verify") {
        const { values, positionals } = parse(rest, {
          ...COMMON_OPTIONS,
          head: { type: "string" },
          "head-file": { type: "string" },
          archive: { type: "string" },
        });
        noPositionals(positionals);
        const published = publishedHeads(values);
        return withBank(values, io, {}, async (bank) => {
          const report = await bank.verifyAudit(undefined, published, values.archive);
          if (!report.ok) {
            const bad = report.firstBad!;
            const where = bad.table === "queue" ? `queued row ${bad.id} (not yet sealed)` : `row ${bad.id}`;
            io.err(
              `otp-token bank audit verify: the audit trail is broken at ${where}: ${bad.reason} (rows up to ${report.head?.id ?? 0} verify)\n`,
            );
            for (const alarm of report.alarms.slice(bad.alarm ? 1 : 0))
              io.err(`  also ${alarm.table === "queue" ? "queued row" : "row"} ${alarm.id}: ${alarm.reason}\n`);
            return 1;
          }
          const heads = report.heads ?? [];
          if (heads.length > 1 || (heads[0]?.part ?? 0) !== 0)
            io.out(
              `the audit trail verifies: ${report.rows} rows in ${heads.length} partitions; heads: ${heads.map(formatHead).join(" ")}\n`,
            );
          else io.out(`the audit trail verifies: ${report.rows} rows; head: row ${report.head?.id ?? 0} ${report.head?.mac ?? ""}\n`);
          return 0;
        });
      }
      if (action === "list") {
        const { values, positionals } = parse(rest, { ...COMMON_OPTIONS, since: { type: "string" }, limit: { type: "string" } });
        noPositionals(positionals);
        const since = integerOption(values.since, "since", 0, Number.MAX_SAFE_INTEGER, 0);
        const limit = integerOption(values.limit, "limit", 1, 100000, 100);
        return withBank(values, io, {}, async (bank) => {
          for (const event of await bank.auditEvents(since, limit)) io.out(`${JSON.stringify(event)}\n`);
          return 0;
        });
      }
      if (action === "archive") {
        const { values, positionals } = parse(rest, { ...COMMON_OPTIONS, dir: { type: "string" }, "older-than-days": { type: "string" } });
        noPositionals(positionals);
        if (values.dir === undefined) throw new UsageError("give --dir, the folder of the archived segments");
        const given =
          values["older-than-days"] === undefined
            ? undefined
            : integerOption(values["older-than-days"], "older-than-days", 0, MAX_RETENTION_DAYS, 0);
        const dir = values.dir;
        return withBank(values, io, {}, async (bank) => {
          const days = given ?? bank.auditRetentionDays;
          if (days === null)
            throw new UsageError("give --older-than-days, or set the bank's retention with 'bank settings --audit-retention-days N'");
          const result = await bank.archiveAudit(dir, Math.floor(Date.now() / 1000) - days * 86_400);
          io.out(
            result.rows === 0
              ? "nothing to archive\n"
              : `archived ${result.rows} rows through row ${result.through} in ${result.segments.length} segment${result.segments.length === 1 ? "" : "s"} (${result.segments.join(", ")}); pruned from the database\n`,
          );
          return 0;
        });
      }
      throw new UsageError("use 'bank audit verify', 'bank audit list' or 'bank audit archive'");
    }
    case "export":
    case "import": {
      const { values, positionals } = parse(args, {
        ...COMMON_OPTIONS,
        out: { type: "string" },
        "user-id": { type: "string", multiple: true },
        passphrase: { type: "boolean" },
        "key-file": { type: "string" },
        "sign-key": { type: "string" },
        "sign-cert": { type: "string" },
        "signer-cert": { type: "string" },
      });
      const { readPskc, readPskcOptions, writePskc } = await import("../bank/pskc.js");
      const { readSigner, readSignerCertificate } = await import("../bank/pskc-sign.js");
      if ((values.passphrase === true) === (values["key-file"] !== undefined))
        throw new UsageError("give exactly one of --passphrase (asked at a prompt) or --key-file FILE");
      const keyHex = values["key-file"] === undefined ? undefined : readKeyFile(values["key-file"]);
      if (sub === "export") {
        noPositionals(positionals);
        if (values.out === undefined) throw new UsageError("--out FILE is missing");
        if (values["signer-cert"] !== undefined) throw new UsageError("--signer-cert is for 'bank import'; export signs with --sign-key");
        if (values["sign-cert"] !== undefined && values["sign-key"] === undefined) throw new UsageError("--sign-cert needs --sign-key");
        const signer =
          values["sign-key"] === undefined
            ? undefined
            : readSigner(
                readPemFile(values["sign-key"], "signing key"),
                values["sign-cert"] === undefined ? undefined : readPemFile(values["sign-cert"], "signing certificate"),
              );
        const userIds = (values["user-id"] as string[] | undefined)?.map((id) => id.toUpperCase());
        for (const id of userIds ?? [])
          if (!USER_ID_PATTERN.test(id)) throw new UsageError(`--user-id ${JSON.stringify(id)} must be ${USER_ID_HELP}`);
        let passphrase: string | undefined;
        if (values.passphrase) {
          const [first, again] = await answers(
            stdin,
            [
              { prompt: "Passphrase for the PSKC file (12+ characters): ", secret: true },
              { prompt: "Passphrase again: ", secret: true },
            ],
            "the passphrase and its confirmation",
          );
          if (first !== again) throw new BankError("pskc", "the two passphrases differ");
          passphrase = first;
        }
        const encryption = readPskcOptions({ passphrase, key: keyHex });
        return withBank(values, io, {}, async (bank) => {
          const secrets = await bank.exportSecrets(userIds);
          try {
            writeFileSync(values.out!, writePskc(secrets, encryption, signer), { mode: 0o600, flag: "wx" });
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code === "EEXIST")
              throw new BankError("pskc", `${values.out} already exists: give a new file`);
            if ((error as NodeJS.ErrnoException).code)
              throw new BankError("pskc", `cannot write ${values.out}: ${(error as NodeJS.ErrnoException).code}`);
            throw error;
          } finally {
            for (const secret of secrets) secret.seed.fill(0);
          }
          io.out(`exported ${secrets.length} token${secrets.length === 1 ? "" : "s"} to ${values.out}${signer ? ", signed" : ""}\n`);
          return 0;
        });
      }
      if (positionals.length !== 1) throw new UsageError("give the PSKC FILE to import");
      if (values["sign-key"] !== undefined || values["sign-cert"] !== undefined || values.out !== undefined)
        throw new UsageError("--sign-key, --sign-cert and --out are for 'bank export'");
      const signerCertificate =
        values["signer-cert"] === undefined ? undefined : readSignerCertificate(readPemFile(values["signer-cert"], "signer certificate"));
      let xml: string;
      try {
        xml = readFileSync(positionals[0], "utf8");
      } catch (error) {
        throw new BankError("pskc", `cannot read ${positionals[0]}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      }
      const passphrase = values.passphrase
        ? (await answers(stdin, [{ prompt: "Passphrase of the PSKC file: ", secret: true }], "the passphrase"))[0]
        : undefined;
      return withBank(values, io, {}, async (bank) => {
        const tokens = readPskc(
          xml,
          { passphrase, key: keyHex === undefined ? undefined : new Uint8Array(Buffer.from(keyHex, "hex")) },
          bank.config.otp.label,
          { signerCertificate },
        );
        try {
          const imported = await bank.importSecrets(tokens);
          const count = `${imported.length} token${imported.length === 1 ? "" : "s"}`;
          if (signerCertificate)
            io.out(`imported ${count}; the signature verifies (signer certificate SHA-256 ${signerCertificate.fingerprint256}):\n`);
          else io.out(`imported ${count}, unsigned (no --signer-cert): each has a new User ID; the file's is not used:\n`);
          for (const [i, t] of imported.entries()) {
            const was = tokens[i].userId !== undefined && tokens[i].userId !== t.userId ? `  (the file's User ID ${tokens[i].userId})` : "";
            io.out(`  serial ${t.serial}  User ID ${t.userId}${was}\n`);
          }
        } finally {
          for (const token of tokens) token.seed.fill(0);
        }
        return 0;
      });
    }
    case "backup":
    case "restore":
    case "check":
    case "rekey":
      return runOps(sub, args, io);
    case "serve": {
      const { values, positionals } = parse(args, {
        ...COMMON_OPTIONS,
        port: { type: "string" },
        host: { type: "string" },
        "rate-limit": { type: "string" },
        "failed-auth-limit": { type: "string" },
        outbox: { type: "string" },
        log: { type: "boolean" },
        "log-format": { type: "string" },
        "metrics-port": { type: "string" },
        "metrics-host": { type: "string" },
        "db-pool": { type: "string" },
        "audit-sealers": { type: "string" },
        "key-cache-seconds": { type: "string" },
        "throttle-base-seconds": { type: "string" },
        "audit-head-file": { type: "string" },
      });
      noPositionals(positionals);
      const port = integerOption(values.port, "port", 0, 65535, DEFAULT_SERVICE_PORT);
      const poolSize = integerOption(values["db-pool"], "db-pool", 1, 1000, DEFAULT_POOL_SIZE);
      const auditSealers = integerOption(values["audit-sealers"], "audit-sealers", 1, MAX_AUDIT_SEALERS, defaultAuditSealers(poolSize));
      if (values["audit-sealers"] !== undefined && !isPostgresUrl(databaseOf(values)))
        throw new UsageError("--audit-sealers: only a PostgreSQL store seals the trail in partitions (SQLite has one writer)");
      if (auditSealers > Math.max(1, poolSize - 1))
        throw new UsageError(
          `--audit-sealers ${auditSealers} needs --db-pool ${auditSealers + 1} or more (it is ${poolSize}): each sealing loop holds one of the pool's connections while it seals, and verifications need one`,
        );
      const keyCacheSeconds = integerOption(values["key-cache-seconds"], "key-cache-seconds", 0, 60, DEFAULT_KEY_CACHE_SECONDS);
      const throttleBaseSeconds = integerOption(
        values["throttle-base-seconds"],
        "throttle-base-seconds",
        0,
        60,
        DEFAULT_CONFIG.throttleBaseSeconds,
      );
      const rateLimit = integerOption(values["rate-limit"], "rate-limit", 1, 10_000_000, DEFAULT_RATE_LIMIT);
      const failedAuthLimit = integerOption(values["failed-auth-limit"], "failed-auth-limit", 1, 10_000_000, DEFAULT_FAILED_AUTH_LIMIT);
      const host = values.host ?? DEFAULT_SERVICE_HOST;
      const logFormat = values["log-format"];
      if (logFormat !== undefined && logFormat !== "json" && logFormat !== "pretty")
        throw new UsageError(`--log-format must be json or pretty, not ${JSON.stringify(logFormat)}`);
      const metricsPort =
        values["metrics-port"] === undefined ? undefined : integerOption(values["metrics-port"], "metrics-port", 0, 65535, 0);
      const { serveBank } = await import("../bank/serve.js");
      return serveBank(
        {
          db: databaseOf(values),
          masterKeyFile: values["master-key-file"],
          port,
          host,
          rateLimit,
          failedAuthLimit,
          outboxDir: values.outbox ?? DEFAULT_OUTBOX,
          log: values.log === true || logFormat !== undefined,
          logFormat,
          metricsPort,
          metricsHost: values["metrics-host"],
          poolSize,
          auditSealers,
          keyCacheSeconds,
          throttleBaseSeconds,
          auditHeadFile: values["audit-head-file"],
        },
        io,
      );
    }
  }
  throw new UsageError(`unknown bank subcommand ${JSON.stringify(sub)}`);
}

/** A PEM file for PSKC signing or verifying. */
function readPemFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new BankError("pskc", `cannot read the ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** A pre-shared PSKC key file: 32 or 64 hex digits (AES-128 or AES-256). */
function readKeyFile(path: string): string {
  try {
    return readFileSync(path, "latin1").trim();
  } catch (error) {
    throw new BankError("pskc", `cannot read the key file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}
