// The SQLite schema of the bank's store: ordered migrations, PRAGMA user_version = how many have run.
// Append only: a database written by version N is brought to the newest by running migrations
// N+1.. in one BEGIN IMMEDIATE transaction (two processes opening an old file at once do not both run them).
export const MIGRATIONS: readonly string[] = [
  // 1: the first schema.
  `
  CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
  ) STRICT;

  -- One row per customer: the User ID stays with the customer across re-set-ups.
  CREATE TABLE users (
    user_id    TEXT PRIMARY KEY CHECK (length(user_id) = 16 AND user_id NOT GLOB '*[^0-9A-Z]*'),
    created_at INTEGER NOT NULL
  ) STRICT;

  -- One row per press of "issue token": a fresh Service ID each time.
  CREATE TABLE issues (
    service_id        TEXT PRIMARY KEY CHECK (length(service_id) = 8 AND service_id NOT GLOB '*[^0-9]*'),
    user_id           TEXT NOT NULL REFERENCES users(user_id),
    mail              TEXT NOT NULL,
    created_at        INTEGER NOT NULL,              -- unix seconds
    expires_at        INTEGER NOT NULL,              -- unix seconds; activation refused from then on
    failed_attempts   INTEGER NOT NULL DEFAULT 0,    -- counted before the tag check (docs/activation.md rule 3)
    state             TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'void', 'completed')),
    void_reason       TEXT,                          -- 'failures' | 'superseded' | 'replaced'
    activation_key    BLOB,                          -- K_AC sealed; NULL once the issue is completed or void
    algorithm         TEXT NOT NULL,                 -- OTP parameters the token will be given
    digits            INTEGER NOT NULL,
    period            INTEGER NOT NULL,
    label             TEXT NOT NULL,
    pending_serial    TEXT,                          -- the activated, not yet confirmed token: 16 hex digits
    pending_seed      BLOB,                          -- its seed, sealed
    pending_at        INTEGER,
    completed_at      INTEGER,
    UNIQUE (service_id, user_id)
  ) STRICT;
  CREATE INDEX issues_by_user ON issues(user_id, state);

  -- Token nonces of requests that passed the tag check, per issue (rule 4: never accepted twice).
  CREATE TABLE issue_nonces (
    service_id TEXT NOT NULL REFERENCES issues(service_id) ON DELETE CASCADE,
    nonce      BLOB NOT NULL,
    seen_at    INTEGER NOT NULL,
    PRIMARY KEY (service_id, nonce)
  ) STRICT, WITHOUT ROWID;

  -- The active token of each user: at most one; a confirmed re-set-up replaces the row.
  CREATE TABLE tokens (
    user_id              TEXT PRIMARY KEY REFERENCES users(user_id),
    service_id           TEXT NOT NULL UNIQUE REFERENCES issues(service_id),
    serial               TEXT NOT NULL,             -- 16 hex digits (u64)
    seed                 BLOB NOT NULL,             -- sealed
    algorithm            TEXT NOT NULL,
    digits               INTEGER NOT NULL,
    period               INTEGER NOT NULL,
    label                TEXT NOT NULL,
    drift_steps          INTEGER NOT NULL DEFAULT 0, -- token step minus bank step at the last success
    last_step            INTEGER NOT NULL,          -- highest step ever accepted; nothing at or below it again
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    locked               INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1)),
    activated_at         INTEGER NOT NULL,
    last_success_at      INTEGER
  ) STRICT;

  -- What happened, for audit: never a password, key, seed or code.
  CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    service_id TEXT,
    user_id    TEXT,
    detail     TEXT
  ) STRICT;
  CREATE INDEX events_by_user ON events(user_id, id);
  `,
  // 2: the manual's identities (Service ID = the bank's service, one setting; User ID =
  // <last 4 of Service ID> L <7-digit customer number> A <3-digit issue number>, one per issue),
  // token lifecycle and expiry, throttling, API keys, and the hash-chained audit trail.
  // Schema-1 rows are kept: a schema-1 customer's random User ID stays the address of their token.
  `
  CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) STRICT;
  -- A schema-1 bank had no Service ID of its own (one random one per issue): it gets one here,
  -- which 'otp-token bank settings --service-id' can change.
  INSERT INTO settings (name, value) VALUES ('service_id', printf('%08d', 10000000 + abs(random() % 90000000)));

  CREATE TABLE customers (
    customer_id     INTEGER PRIMARY KEY,
    customer_number TEXT UNIQUE CHECK (customer_number GLOB '[0-9][0-9][0-9][0-9][0-9][0-9][0-9]'),
    legacy_user_id  TEXT UNIQUE,               -- the schema-1 User ID (16 random letters and digits)
    issues_made     INTEGER NOT NULL DEFAULT 0 CHECK (issues_made BETWEEN 0 AND 999),
    created_at      INTEGER NOT NULL
  ) STRICT;
  INSERT INTO customers (legacy_user_id, created_at) SELECT user_id, created_at FROM users ORDER BY created_at, user_id;

  CREATE TABLE issues_2 (
    issue_id          INTEGER PRIMARY KEY,
    service_id        TEXT NOT NULL CHECK (length(service_id) = 8 AND service_id NOT GLOB '*[^0-9]*'),
    user_id           TEXT NOT NULL CHECK (length(user_id) = 16 AND user_id NOT GLOB '*[^0-9A-Z]*'),
    customer_id       INTEGER NOT NULL REFERENCES customers(customer_id),
    issue_number      INTEGER CHECK (issue_number BETWEEN 1 AND 999), -- NULL for a schema-1 issue
    mail              TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    token_expires_at  INTEGER NOT NULL,              -- set at issue (default 5 years), carried to the token
    failed_attempts   INTEGER NOT NULL DEFAULT 0,
    state             TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'void', 'completed')),
    void_reason       TEXT,
    activation_key    BLOB,
    algorithm         TEXT NOT NULL,
    digits            INTEGER NOT NULL,
    period            INTEGER NOT NULL,
    label             TEXT NOT NULL,
    pending_serial    TEXT,
    pending_seed      BLOB,
    pending_at        INTEGER,
    completed_at      INTEGER,
    UNIQUE (service_id, user_id)
  ) STRICT;
  INSERT INTO issues_2 (issue_id, service_id, user_id, customer_id, mail, created_at, expires_at, token_expires_at, failed_attempts, state,
                        void_reason, activation_key, algorithm, digits, period, label, pending_serial, pending_seed, pending_at, completed_at)
    SELECT i.rowid, i.service_id, i.user_id, c.customer_id, i.mail, i.created_at, i.expires_at, i.created_at + 157766400, i.failed_attempts, i.state,
           i.void_reason, i.activation_key, i.algorithm, i.digits, i.period, i.label, i.pending_serial, i.pending_seed, i.pending_at, i.completed_at
    FROM issues i JOIN customers c ON c.legacy_user_id = i.user_id ORDER BY i.created_at, i.rowid;

  CREATE TABLE issue_nonces_2 (
    issue_id INTEGER NOT NULL REFERENCES issues_2(issue_id) ON DELETE CASCADE,
    nonce    BLOB NOT NULL,
    seen_at  INTEGER NOT NULL,
    PRIMARY KEY (issue_id, nonce)
  ) STRICT, WITHOUT ROWID;
  INSERT INTO issue_nonces_2 SELECT i.issue_id, n.nonce, n.seen_at FROM issue_nonces n JOIN issues_2 i ON i.service_id = n.service_id;

  CREATE TABLE tokens_2 (
    user_id              TEXT PRIMARY KEY,
    customer_id          INTEGER NOT NULL UNIQUE REFERENCES customers(customer_id),
    issue_id             INTEGER UNIQUE REFERENCES issues_2(issue_id), -- NULL for a token imported from PSKC
    service_id           TEXT NOT NULL,
    serial               TEXT NOT NULL,
    seed                 BLOB NOT NULL,
    algorithm            TEXT NOT NULL,
    digits               INTEGER NOT NULL,
    period               INTEGER NOT NULL,
    label                TEXT NOT NULL,
    drift_steps          INTEGER NOT NULL DEFAULT 0,
    last_step            INTEGER NOT NULL,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    locked               INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1)),
    next_check_at        INTEGER NOT NULL DEFAULT 0,  -- throttling: no check before this (unix seconds)
    state                TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'suspended', 'revoked')),
    activated_at         INTEGER NOT NULL,
    expires_at           INTEGER NOT NULL,
    last_success_at      INTEGER
  ) STRICT;
  INSERT INTO tokens_2 (user_id, customer_id, issue_id, service_id, serial, seed, algorithm, digits, period, label, drift_steps, last_step,
                        consecutive_failures, locked, activated_at, expires_at, last_success_at)
    SELECT t.user_id, c.customer_id, i.issue_id, t.service_id, t.serial, t.seed, t.algorithm, t.digits, t.period, t.label, t.drift_steps, t.last_step,
           t.consecutive_failures, t.locked, t.activated_at, t.activated_at + 157766400, t.last_success_at
    FROM tokens t JOIN customers c ON c.legacy_user_id = t.user_id LEFT JOIN issues_2 i ON i.service_id = t.service_id;

  CREATE TABLE events_2 (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    service_id TEXT,
    user_id    TEXT,
    actor      TEXT NOT NULL,
    detail     TEXT,
    mac        BLOB              -- host/bank/audit.ts; NULL only until the bank first opens the database
  ) STRICT;
  INSERT INTO events_2 (id, at, kind, service_id, user_id, actor, detail) SELECT id, at, kind, service_id, user_id, 'schema-1', detail FROM events ORDER BY id;

  CREATE TABLE api_keys (
    key_id      TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    scope       TEXT NOT NULL CHECK (scope IN ('login', 'admin')),
    secret_hash BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
  ) STRICT;

  DROP TABLE issue_nonces;
  DROP TABLE tokens;
  DROP TABLE events;
  DROP TABLE issues;
  DROP TABLE users;
  ALTER TABLE issues_2 RENAME TO issues;
  ALTER TABLE issue_nonces_2 RENAME TO issue_nonces;
  ALTER TABLE tokens_2 RENAME TO tokens;
  ALTER TABLE events_2 RENAME TO events;
  CREATE INDEX issues_by_user ON issues(user_id, issue_id);
  CREATE INDEX issues_by_customer ON issues(customer_id, state);
  CREATE INDEX tokens_by_expiry ON tokens(expires_at) WHERE state <> 'revoked';
  CREATE INDEX events_by_user ON events(user_id, id);
  `,
  // 3: activation protocol v2, CPace (docs/activation.md). issues.activation_key now holds the sealed
  // activation password (CPace's PRS) instead of v1's K_AC. Each answered request keeps its response,
  // answered again when the same request comes back, and, sealed, the token's expected confirmation
  // and the seed until the token confirms (message 3). A pending issue no token has registered yet
  // cannot be activated by a v2 token (its K_AC is no password): it is void. One whose token
  // registered with v1 keeps its pending token, so its first code can still be confirmed; its K_AC
  // goes. The v1 nonce table goes (a session id answers for it).
  `
  CREATE TABLE activation_sessions (
    issue_id     INTEGER NOT NULL REFERENCES issues(issue_id) ON DELETE CASCADE,
    sid          BLOB NOT NULL,                  -- CPace session id chosen by the token (message 1)
    request_hash BLOB NOT NULL,                  -- SHA-256 of message 1
    serial       TEXT NOT NULL,                  -- the token's, 16 hex digits
    response     BLOB NOT NULL,                  -- message 2 as sent (public)
    secrets      BLOB,                           -- sealed: expected Ta || seed; NULL once the issue expired
    answered_at  INTEGER NOT NULL,
    confirmed_at INTEGER,                        -- when the token's confirmation (message 3) matched
    PRIMARY KEY (issue_id, sid)
  ) STRICT, WITHOUT ROWID;
  UPDATE issues SET state = 'void', void_reason = 'protocol-v1', activation_key = NULL, pending_seed = NULL
    WHERE state = 'pending' AND pending_seed IS NULL;
  UPDATE issues SET activation_key = NULL WHERE state = 'pending';
  DROP TABLE issue_nonces;
  `,
  // 4: writer MACs on the audit trail (host/bank/audit.ts): each event carries a random nonce and the
  // bank's MAC over it and its fields. Rows written before get theirs when the bank next opens the
  // database with its key, as far as the chain vouches for them (audit_legacy_upto: the last of them).
  `
  ALTER TABLE events ADD COLUMN nonce BLOB;
  ALTER TABLE events ADD COLUMN writer_mac BLOB;
  CREATE UNIQUE INDEX events_by_nonce ON events(nonce);
  INSERT INTO meta (name, value) SELECT 'audit_legacy_upto', CAST(CAST(id AS TEXT) AS BLOB) FROM events ORDER BY id DESC LIMIT 1;
  `,
  // 5: API key scopes split (issue 19, item 4): verify, enroll, admin; login stays (verify+enroll).
  // SQLite cannot change a CHECK constraint: the table is rebuilt (nothing references it).
  `
  CREATE TABLE api_keys_5 (
    key_id      TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    scope       TEXT NOT NULL CHECK (scope IN ('verify', 'enroll', 'admin', 'login')),
    secret_hash BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
  ) STRICT;
  INSERT INTO api_keys_5 (key_id, name, scope, secret_hash, created_at, revoked_at)
    SELECT key_id, name, scope, secret_hash, created_at, revoked_at FROM api_keys;
  DROP TABLE api_keys;
  ALTER TABLE api_keys_5 RENAME TO api_keys;
  `,
  // 6: a token's PSKC Issuer and DeviceInfo Manufacturer (RFC 6030 §4.3.1, §4.3.2), kept from an import
  // and written again at export (issue 19, item 3); NULL for the tokens the bank made itself.
  `
  ALTER TABLE tokens ADD COLUMN issuer TEXT;
  ALTER TABLE tokens ADD COLUMN manufacturer TEXT;
  `,
  // 7: customers' logins (issue 18). A customer's internet-banking login (ログインID and
  // the scrypt hash of its ログインパスワード) or the bank backend's own reference for the customer,
  // with the throttling state of failed logins.
  `
  CREATE TABLE customer_logins (
    customer_id          INTEGER PRIMARY KEY REFERENCES customers(customer_id),
    login_id             TEXT UNIQUE,
    password_hash        TEXT,
    external_ref         TEXT UNIQUE,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    locked               INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1)),
    next_check_at        INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL,
    last_login_at        INTEGER,
    CHECK ((login_id IS NULL) = (password_hash IS NULL)),
    CHECK (login_id IS NOT NULL OR external_ref IS NOT NULL)
  ) STRICT;
  `,
  // "transactions" (issue 23; to be migration 7: the integrator orders it after the other branches'):
  // transfers waiting for their code (host/bank/rooms/transactions.ts). A transfer is settled once.
  `
  CREATE TABLE transactions (
    transaction_id TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL,
    payload        BLOB NOT NULL,                -- the canonical transfer (host/transaction.ts)
    digest         TEXT NOT NULL,                -- SHA-256 of payload, hex
    reference      TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'refused')),
    settled_at     INTEGER
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX transactions_by_user ON transactions (user_id, created_at);
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
