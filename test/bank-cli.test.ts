// `otp-token bank` from the command line: init and the database file's errors, issue with the mail
// typed twice and passwords only from the prompt, the refusals worded in Japanese too, lifecycle,
// status and renewals, API keys, the audit trail's verification (one altered, one deleted, one
// inserted row), and the help of every subcommand.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MASTER_KEY_ENV } from "../host/bank/crypto.js";
import { main } from "../host/cli.js";
import { BANK_HELP, makeBankCommand } from "../host/cli/bank.js";
import type { Terminal } from "../host/cli/prompt.js";
import { type Io, UsageError } from "../host/usage.js";
import { codeAt, otherThan, tokenFinish, tokenRequest } from "./bank-helpers.js";

const KEY_HEX = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const PASSWORD = "Pass1234";
const START = 1_900_000_020;
let dir: string;
let clock: { now: number };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "otp-bank-cli-"));
  clock = { now: START };
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  status: number;
  out: string;
  err: string;
  asked: string[];
}

/** Runs `otp-token bank ...`; `answers` are the prompt's (terminal) or standard input's lines. */
async function cli(args: string[], answers: string[] = [], isTTY = false, lang: Io["lang"] = "en"): Promise<Run> {
  let out = "";
  let err = "";
  const asked: string[] = [];
  const queue = [...answers];
  const io: Io = {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    now: () => clock.now,
    lang,
  };
  const stdin: Terminal = {
    isTTY,
    readAll: () => answers.map((a) => `${a}\n`).join(""),
    readSecret: async (prompt) => {
      asked.push(`secret: ${prompt}`);
      return queue.shift() ?? "";
    },
    ask: async (prompt) => {
      asked.push(`line: ${prompt}`);
      return queue.shift() ?? "";
    },
  };
  let status: number;
  try {
    status = await makeBankCommand(stdin)(args, io);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    err += error.message;
    status = 2;
  }
  return { status, out, err, asked };
}

function keyFile(): string {
  const path = join(dir, "bank.key");
  writeFileSync(path, KEY_HEX, { mode: 0o600 });
  return path;
}

const common = () => ["--db", join(dir, "bank.sqlite"), "--master-key-file", keyFile()];

async function init(): Promise<string[]> {
  const c = common();
  const made = await cli(["init", ...c, "--service-id", "10212083", "--mail-domain", "otp-auth.example"]);
  expect(made).toMatchObject({ status: 0, err: "" });
  return c;
}

/** issue (mail typed twice on stdin) -> token activation -> confirm; returns the IDs and the token. */
async function setUp(c: string[], mail = "cli@example.jp") {
  const issued = await cli(["issue", ...c, "--outbox", join(dir, "out"), "--mail", mail], [mail, PASSWORD, PASSWORD]);
  expect(issued.err).toBe("");
  const userId = issued.out.match(/User ID: +(\S+)/)![1];
  const session = tokenRequest("10212083", userId, PASSWORD);
  const activated = await cli(["activate", ...c, "--request", session.request.toString("hex")]);
  expect(activated.status).toBe(0);
  const token = tokenFinish(session, Buffer.from(activated.out.trim(), "hex"));
  expect(await cli(["activate", ...c, "--request", token.confirmation.toString("hex")])).toMatchObject({
    status: 0,
    out: "registered: token serial 0123456789ABCDEF\n",
  });
  expect((await cli(["confirm", ...c, "--user-id", userId, codeAt(token, clock.now)])).out).toMatch(/confirmed/);
  return { userId, token };
}

describe("otp-token bank under LANG=ja (issue 18, item 6)", () => {
  it("bank issue: the mail pair is checked before any password is asked; prompts, labels and refusals are the manual's Japanese", async () => {
    const c = await init();
    const issue = ["issue", ...c, "--outbox", join(dir, "out"), "--mail", "hanako@example.jp"];
    const mismatch = await cli(issue, ["hanako@example.com", PASSWORD, PASSWORD], true, "ja");
    expect(mismatch.status).toBe(1);
    expect(mismatch.asked).toEqual(["line: 携帯電話メールアドレス（再入力）: "]);
    expect(mismatch.err).toBe(
      "otp-token bank issue: 携帯電話メールアドレスが一致しません。同じものを2回入力してください。 [mail-mismatch]\n",
    );
    // Given as an option, the pair is checked before anything is asked.
    const given = await cli([...issue, "--mail-confirm", "other@example.jp"], [PASSWORD, PASSWORD], true, "ja");
    expect(given).toMatchObject({ status: 1, asked: [] });
    const short = await cli(issue, ["hanako@example.jp", "ab1", "ab1"], true, "ja");
    expect(short.err).toBe("otp-token bank issue: 利用開始パスワードは半角英数字4桁以上8桁以内で入力してください。 [password-length]\n");
    const issued = await cli(issue, ["hanako@example.jp", PASSWORD, PASSWORD], true, "ja");
    expect(issued.status, issued.err).toBe(0);
    expect(issued.asked).toEqual([
      "line: 携帯電話メールアドレス（再入力）: ",
      "secret: 利用開始パスワード（半角英数字4桁以上8桁以内）: ",
      "secret: 利用開始パスワード（再入力）: ",
    ]);
    expect(issued.out).toMatch(
      /^送信先メールアドレス: hanako@example\.jp\nサービスID: 10212083\nユーザID: 2083L0000001A001\n設定期限: \d{4}年/,
    );
    for (const english of ["Mail address", "Service ID", "User ID", "Set up by"]) expect(issued.out).not.toContain(english);
    // In English the same, worded in English with the Japanese beside the refusal.
    const en = await cli(issue, ["hanako@example.com", PASSWORD, PASSWORD], true);
    expect(en.err).toBe(
      "otp-token bank issue: the two mail addresses differ: type the same address twice [mail-mismatch]\n  携帯電話メールアドレスが一致しません。同じものを2回入力してください。\n",
    );
  });

  it("bank confirm's success line, bank customer create and bank login in Japanese; passwords only at the prompt", async () => {
    const c = await init();
    const made = await cli(["customer", "create", ...c, "--login-id", "hanako01"], ["Login-pass-42", "Login-pass-42"], true, "ja");
    expect(made.status, made.err).toBe(0);
    expect(made.asked).toEqual([
      "secret: ログインパスワード（半角英数字記号8文字以上32文字以内（英字と数字を含む））: ",
      "secret: ログインパスワード（再入力）: ",
    ]);
    expect(made.out).toBe("お客様番号: 0000001\nログインID: hanako01\n");
    const wrong = await cli(["login", ...c, "--login-id", "hanako01"], ["Wrong-pass-1"], true, "ja");
    expect(wrong.err).toBe(
      "otp-token bank login: ログインIDまたはログインパスワードが違います。あと 9 回間違えるとログインがロックされます。 [login-failed]\n",
    );
    clock.now += 2;
    const ok = await cli(["login", ...c, "--login-id", "hanako01"], ["Login-pass-42"], true, "ja");
    expect(ok.out).toMatch(/^ログインしました。\nお客様番号: 0000001\nユーザID: -\nログインチケット: \S+\n$/);
    for (const run of [made, wrong, ok]) expect(run.out + run.err).not.toContain("Login-pass-42");
    const ticket = /ログインチケット: (\S+)/.exec(ok.out)![1];
    const issued = await cli(
      ["issue", ...c, "--outbox", join(dir, "out"), "--mail", "h@example.jp", "--ticket", ticket],
      ["h@example.jp", PASSWORD, PASSWORD],
    );
    const userId = issued.out.match(/User ID: +(\S+)/)![1];
    expect(userId).toBe("2083L0000001A001");
    const session = tokenRequest("10212083", userId, PASSWORD);
    const token = tokenFinish(
      session,
      Buffer.from((await cli(["activate", ...c, "--request", session.request.toString("hex")])).out.trim(), "hex"),
    );
    await cli(["activate", ...c, "--request", token.confirmation.toString("hex")]);
    const confirmed = await cli(["confirm", ...c, "--user-id", userId, codeAt(token, clock.now)], [], false, "ja");
    expect(confirmed.out).toBe("認証確認が完了しました。トークンが有効になりました。\n");
    expect((await cli(["customer", "create", ...c], [], true)).err).toContain("--login-id is missing");
    expect((await cli(["customer", "unlock", ...c, "--login-id", "hanako01"], [], false, "ja")).out).toBe(
      "ログインID hanako01 のロックを解除しました。\n",
    );
  });
});

describe("otp-token bank init and the database file", () => {
  it("only init creates a database; a missing folder, a directory, an empty or damaged file, an existing database: one line, status 1", async () => {
    const key = keyFile();
    const missing = await cli(["status", "--db", join(dir, "bank.sqlite"), "--master-key-file", key]);
    expect(missing).toMatchObject({ status: 1 });
    expect(missing.err).toMatch(
      /^otp-token bank status: there is no bank database at .*bank\.sqlite: create one with 'otp-token bank init --db .*'.*\n$/,
    );
    expect(readdirSync(dir)).toEqual(["bank.key"]);
    const folder = await cli(["init", "--db", join(dir, "nope", "bank.sqlite"), "--master-key-file", key]);
    expect(folder.status).toBe(1);
    expect(folder.err).toMatch(/^otp-token bank init: the folder .*nope does not exist.*\n$/);
    mkdirSync(join(dir, "folder"));
    writeFileSync(join(dir, "empty.sqlite"), "");
    writeFileSync(join(dir, "damaged.sqlite"), Buffer.alloc(4096, 0x41));
    for (const [path, message] of [
      [join(dir, "folder"), /is a directory, not a bank database/],
      [join(dir, "empty.sqlite"), /is an empty file \(0 bytes\), not a bank database/],
      [join(dir, "damaged.sqlite"), /is not a bank database \(not an SQLite file, or damaged/],
    ] as const) {
      const run = await cli(["verify", "--db", path, "--master-key-file", key, "--user-id", "2083L0000001A001", "123456"]);
      expect(run.status).toBe(1);
      expect(run.err).toMatch(message);
      expect(run.err.trim().split("\n")).toHaveLength(1);
    }
    const made = await cli(["init", "--db", join(dir, "bank.sqlite"), "--master-key-file", key, "--service-id", "10212083"]);
    expect(made).toMatchObject({ status: 0 });
    expect(made.out).toMatch(/Service ID: +10212083\nMail domain: +bank\.example/);
    const again = await cli(["init", "--db", join(dir, "bank.sqlite"), "--master-key-file", key]);
    expect(again.status).toBe(1);
    expect(again.err).toMatch(/already exists/);
    const settings = await cli([
      "settings",
      "--db",
      join(dir, "bank.sqlite"),
      "--master-key-file",
      key,
      "--mail-domain",
      "otp-auth.example",
    ]);
    expect(settings.out).toMatch(/Mail domain: +otp-auth\.example/);
  });

  it("refuses a master-key file others can read, saying chmod 600", async () => {
    const c = await init();
    chmodSync(c[3], 0o640);
    const run = await cli(["status", ...c]);
    expect(run.status).toBe(1);
    expect(run.err).toMatch(/can be read by others \(mode 0640\): run chmod 600 .*bank\.key \[master-key\]/);
  });
});

describe("otp-token bank issue, confirm, verify", () => {
  it("asks for the mail address again when --mail-confirm is not given (never taking --mail for it), and the passwords only at the prompt", async () => {
    const c = await init();
    const typed = await cli(
      ["issue", ...c, "--outbox", join(dir, "out"), "--mail", "t@example.jp"],
      ["t@example.jp", PASSWORD, PASSWORD],
      true,
    );
    expect(typed.status).toBe(0);
    expect(typed.asked).toEqual([
      expect.stringMatching(/^line: Mail address again/),
      expect.stringMatching(/^secret: 利用開始パスワード/),
      expect.stringMatching(/^secret: 利用開始パスワード again/),
    ]);
    expect(typed.out).toMatch(/Service ID: +10212083\nUser ID: +2083L0000001A001\n/);
    const wrongMail = await cli(
      ["issue", ...c, "--outbox", join(dir, "out"), "--mail", "t@example.jp"],
      ["u@example.jp", PASSWORD, PASSWORD],
      true,
    );
    expect(wrongMail.status).toBe(1);
    expect(wrongMail.err).toMatch(/differ.*\[mail-mismatch\]/);
    // Given, the confirmation is not asked.
    const given = await cli(
      ["issue", ...c, "--outbox", join(dir, "out"), "--mail", "t@example.jp", "--mail-confirm", "t@example.jp"],
      [PASSWORD, PASSWORD],
      true,
    );
    expect(given.asked).toHaveLength(2);
    expect(given.status).toBe(0);
    expect((await cli(["issue", ...c, "--mail", "t@example.jp", "--password", PASSWORD])).status).toBe(2);
    const short = await cli(["issue", ...c, "--outbox", join(dir, "out"), "--mail", "t@example.jp"], ["t@example.jp", PASSWORD]);
    expect(short.status).toBe(2);
    expect(short.err).toMatch(/the mail address again, the activation password and its confirmation/);
  });

  it("says the attempts left (あと N 回) and, at the fifth wrong code, that the issue is void and a new トークン発行 is needed; confirming again says already confirmed", async () => {
    const c = await init();
    const issued = await cli(["issue", ...c, "--outbox", join(dir, "out"), "--mail", "v@example.jp"], ["v@example.jp", PASSWORD, PASSWORD]);
    const userId = issued.out.match(/User ID: +(\S+)/)![1];
    // A wrong password: the bank cannot tell (CPace); it answers, and says what is left should the token refuse the answer.
    const wrongSession = tokenRequest("10212083", userId, "Wrong99");
    const wrongPassword = await cli(["activate", ...c, "--request", wrongSession.request.toString("hex")]);
    expect(wrongPassword.status).toBe(0);
    expect(wrongPassword.err).toBe(
      "If the activation password is wrong, 4 attempts will be left before this token issue is void (a completed Register is not counted).\n" +
        "  利用開始パスワードが違っていた場合、あと 4 回間違えると、このトークン発行は無効になります（登録が完了すると、この送信は数えられません）。\n",
    );
    expect(() => tokenFinish(wrongSession, Buffer.from(wrongPassword.out.trim(), "hex"))).toThrow(/does not verify/);
    const session = tokenRequest("10212083", userId, PASSWORD);
    const token = tokenFinish(
      session,
      Buffer.from((await cli(["activate", ...c, "--request", session.request.toString("hex")])).out.trim(), "hex"),
    );
    // A damaged confirmation is refused, worded for the holder; the token's own takes the count back.
    const damaged = Buffer.from(token.confirmation);
    damaged[105] ^= 1;
    const refused = await cli(["activate", ...c, "--request", damaged.toString("hex")]);
    expect(refused.status).toBe(1);
    expect(refused.err).toMatch(/\[wrong-confirmation\]\n {2}.*もう一度「送信」/);
    expect((await cli(["activate", ...c, "--request", token.confirmation.toString("hex")])).out).toBe(
      "registered: token serial 0123456789ABCDEF\n",
    );
    const right = codeAt(token, clock.now);
    for (let left = 3; left >= 1; left--) {
      const wrong = await cli(["confirm", ...c, "--user-id", userId, otherThan(right)]);
      expect(wrong.status).toBe(1);
      expect(wrong.err).toMatch(
        new RegExp(`${left} attempts? left before this token issue is void\\. \\[wrong-code\\]\\n  .*あと ${left} 回`),
      );
    }
    const last = await cli(["confirm", ...c, "--user-id", userId, otherThan(right)]);
    expect(last.err).toMatch(
      /This token issue is now void: issue a new token \("Issue token"\) and start again\. \[issue-void\]\n {2}.*無効になりました。もう一度「トークン発行」からやり直してください。/,
    );
    // A new issue works, and confirming it twice says it is done.
    const { userId: fresh, token: freshToken } = await setUp(c, "w@example.jp");
    const twice = await cli(["confirm", ...c, "--user-id", fresh, codeAt(freshToken, clock.now)]);
    expect(twice.status).toBe(1);
    expect(twice.err).toMatch(/already confirmed.*\[already-confirmed\]\n {2}.*認証確認が完了しています/);
  });

  it("verify by User ID alone; full-width digits are the digits they are; lifecycle and status with renewals due", async () => {
    const c = await init();
    const { userId, token } = await setUp(c);
    clock.now += 60;
    const fullWidth = codeAt(token, clock.now).replace(/[0-9]/g, (d) => String.fromCharCode(0xff10 + Number(d)));
    expect(await cli(["verify", ...c, "--user-id", userId, fullWidth])).toMatchObject({ status: 0, out: "ok: offset 0, drift 0 steps\n" });
    const replay = await cli(["verify", ...c, "--user-id", userId, codeAt(token, clock.now)]);
    expect(replay.status).toBe(1);
    expect(replay.err).toMatch(/^otp-token bank verify: this code .* already used.*\[replayed\]\n {2}この/);
    expect((await cli(["verify", ...c, "--user-id", userId, "--service-id", "99999999", codeAt(token, clock.now + 60)])).err).toMatch(
      /belongs to Service ID 10212083/,
    );
    clock.now += 120;
    expect((await cli(["suspend", ...c, "--user-id", userId])).out).toBe("suspended\n");
    expect((await cli(["verify", ...c, "--user-id", userId, codeAt(token, clock.now)])).err).toMatch(/\[suspended\]/);
    expect((await cli(["suspend", ...c, "--user-id", userId])).err).toMatch(/\[state\]/);
    expect((await cli(["resume", ...c, "--user-id", userId])).out).toBe("resumed\n");
    expect((await cli(["verify", ...c, "--user-id", userId, codeAt(token, clock.now)])).status).toBe(0);
    expect((await cli(["unlock", ...c, "--user-id", userId])).out).toBe("unlocked\n");
    const status = JSON.parse((await cli(["status", ...c, "--user-id", userId])).out);
    expect(status).toMatchObject({
      userId,
      serviceId: "10212083",
      customerNumber: "0000001",
      token: { serial: "0123456789ABCDEF", state: "active" },
    });
    expect(JSON.stringify(status)).not.toMatch(/seed|activation_key/i);
    clock.now += 1826 * 86400 - 20 * 86400;
    const overview = await cli(["status", ...c]);
    expect(overview.out).toMatch(
      /^Service ID 10212083, mail domain otp-auth\.example\nTokens: 1 active, 0 suspended, 0 revoked \(0 locked\)\nDue for renewal \(expiring within 30 days\): 1\n {2}2083L0000001A001 {2}serial 0123456789ABCDEF {2}active {2}expires \d{4}年/,
    );
    expect((await cli(["revoke", ...c, "--user-id", userId])).out).toBe("revoked\n");
    expect((await cli(["verify", ...c, "--user-id", userId, codeAt(token, clock.now)])).err).toMatch(
      /\[revoked\]\n {2}このトークンは失効しています/,
    );
  });
});

describe("otp-token bank api-key and audit", () => {
  it("creates a key (printed once), lists and revokes it", async () => {
    const c = await init();
    const created = await cli(["api-key", "create", ...c, "--scope", "admin", "--name", "operator"]);
    expect(created.status).toBe(0);
    expect(created.out).toMatch(/^otpk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}\n$/);
    expect(created.err).toMatch(/shown only this once/);
    const keyId = created.out.split("_")[1];
    expect((await cli(["api-key", "list", ...c])).out).toMatch(new RegExp(`^${keyId}  admin  active .* operator\\n$`));
    expect((await cli(["api-key", "revoke", ...c, keyId])).out).toBe(`revoked ${keyId}\n`);
    expect((await cli(["api-key", "list", ...c])).out).toMatch(/revoked/);
    expect((await cli(["api-key", "revoke", ...c, keyId])).status).toBe(1);
    expect((await cli(["api-key", "create", ...c, "--scope", "root"])).status).toBe(2);
    // The database holds no key.
    const Database = (await import("better-sqlite3")).default;
    const db = new Database(c[1], { readonly: true });
    const row = db.prepare("SELECT * FROM api_keys").get() as Record<string, unknown>;
    db.close();
    expect(JSON.stringify(row)).not.toContain(/^otpk_[0-9a-f]{16}_(.+)$/.exec(created.out.trim())![1]);
  });

  it("audit verify proves the chain, and points at the first altered, deleted or inserted row", async () => {
    const c = await init();
    await setUp(c);
    const ok = await cli(["audit", "verify", ...c]);
    expect(ok.status).toBe(0);
    expect(ok.out).toMatch(/^the audit trail verifies: (\d+) rows; head: row \1 [0-9a-f]{64}\n$/);
    const rows = Number(ok.out.match(/verifies: (\d+)/)![1]);
    expect(rows).toBeGreaterThanOrEqual(4);
    const list = (await cli(["audit", "list", ...c])).out
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { id: number; kind: string; actor: string });
    expect(list.map((e) => e.kind)).toEqual(expect.arrayContaining(["setting", "issued", "activated", "confirmed"]));
    expect(list.every((e) => e.actor === "cli")).toBe(true);

    const Database = (await import("better-sqlite3")).default;
    const copy = (name: string) => {
      const db = new Database(c[1]);
      db.exec(`VACUUM INTO '${join(dir, name)}'`);
      db.close();
      return ["--db", join(dir, name), "--master-key-file", c[3]];
    };
    const altered = copy("altered.sqlite");
    const alterDb = new Database(altered[1]);
    alterDb.prepare("UPDATE events SET detail = 'nothing happened' WHERE id = 3").run();
    alterDb.close();
    const alteredRun = await cli(["audit", "verify", ...altered]);
    expect(alteredRun.status).toBe(1);
    expect(alteredRun.err).toMatch(/broken at row 3: its MAC does not match: this row was altered/);

    const deleted = copy("deleted.sqlite");
    const deleteDb = new Database(deleted[1]);
    deleteDb.prepare("DELETE FROM events WHERE id = 2").run();
    deleteDb.close();
    expect((await cli(["audit", "verify", ...deleted])).err).toMatch(/broken at row 3: it does not follow row 1: row 2 deleted/);

    const inserted = copy("inserted.sqlite");
    const insertDb = new Database(inserted[1]);
    const last = insertDb.prepare("SELECT * FROM events ORDER BY id DESC LIMIT 1").get() as { id: number; mac: Buffer };
    insertDb
      .prepare(
        "INSERT INTO events (at, kind, service_id, user_id, actor, detail, mac) VALUES (?, 'unlocked', '10212083', '2083L0000001A001', 'cli', 'by nobody', ?)",
      )
      .run(START, last.mac);
    insertDb.close();
    expect((await cli(["audit", "verify", ...inserted])).err).toMatch(new RegExp(`broken at row ${last.id + 1}: its MAC does not match`));
    // The original still verifies.
    expect((await cli(["audit", "verify", ...c])).status).toBe(0);
  });
});

describe("otp-token bank export and import (PSKC)", () => {
  it("moves a token to another bank: export with a passphrase or a pre-shared key file, import it there, log in", async () => {
    const c = await init();
    const { userId, token } = await setUp(c);
    const pskFile = join(dir, "transfer.key");
    writeFileSync(pskFile, "ab".repeat(32), { mode: 0o600 });
    const exported = await cli(["export", ...c, "--out", join(dir, "out.pskcxml"), "--key-file", pskFile]);
    expect(exported).toMatchObject({ status: 0, out: `exported 1 token to ${join(dir, "out.pskcxml")}\n` });
    expect((await cli(["export", ...c, "--out", join(dir, "out.pskcxml"), "--key-file", pskFile])).err).toMatch(/already exists/);
    const short = await cli(["export", ...c, "--out", join(dir, "pbe.pskcxml"), "--passphrase"], ["too short", "too short"]);
    expect(short.err).toMatch(/at least 12 characters \[pskc\]/);
    expect(
      (await cli(["export", ...c, "--out", join(dir, "pbe.pskcxml"), "--passphrase"], ["a long passphrase", "a long passphrase"])).status,
    ).toBe(0);
    expect((await cli(["export", ...c, "--out", join(dir, "x.pskcxml")])).status).toBe(2);

    const other = ["--db", join(dir, "other.sqlite"), "--master-key-file", c[3]];
    expect((await cli(["init", ...other, "--service-id", "55501234"])).status).toBe(0);
    // Unsigned (no --signer-cert): the token gets a User ID of this bank; the file's is printed beside it.
    const imported = await cli(["import", ...other, join(dir, "pbe.pskcxml"), "--passphrase"], ["a long passphrase"]);
    expect(imported).toMatchObject({
      status: 0,
      out: `imported 1 token, unsigned (no --signer-cert): each has a new User ID; the file's is not used:\n  serial 0123456789ABCDEF  User ID 1234L0000001A001  (the file's User ID ${userId})\n`,
    });
    clock.now += 60;
    expect((await cli(["verify", ...other, "--user-id", "1234L0000001A001", codeAt(token, clock.now)])).status).toBe(0);
    expect((await cli(["verify", ...other, "--user-id", userId, codeAt(token, clock.now + 60)])).status).toBe(1);
    expect((await cli(["import", ...other, join(dir, "out.pskcxml"), "--passphrase"], ["a long passphrase"])).err).toMatch(
      /encrypted with a pre-shared key: give the key/,
    );
  });
});

describe("otp-token bank: help and usage", () => {
  it("documents every subcommand, and reports usage errors with status 2", async () => {
    for (const sub of Object.keys(BANK_HELP).filter((s) => s !== "")) {
      const help = await cli([sub, "--help"]);
      expect(help.status).toBe(0);
      expect(help.out).toMatch(new RegExp(`^Usage: otp-token bank ${sub}`));
      expect(help.out).toContain("--db PATH");
      expect(help.out).toContain(MASTER_KEY_ENV);
    }
    expect((await cli([])).status).toBe(0);
    // bank serve --audit-sealers: documented, and refused (before anything starts) out of range, beyond the pool, or on SQLite.
    expect((await cli(["serve", "--help"])).out).toContain("--audit-sealers S");
    const pgUrl = "postgres://bank@127.0.0.1:1/none";
    for (const [args, message] of [
      [["--audit-sealers", "0"], "--audit-sealers must be a whole number from 1 to 16"],
      [["--audit-sealers", "17"], "--audit-sealers must be a whole number from 1 to 16"],
      [["--audit-sealers", "4", "--db-pool", "4"], "--audit-sealers 4 needs --db-pool 5 or more (it is 4)"],
    ] as const) {
      const refused = await cli(["serve", "--db", pgUrl, ...args]);
      expect([refused.status, refused.err]).toEqual([2, expect.stringContaining(message)]);
    }
    const sqlite = await cli(["serve", "--db", join(dir, "s.sqlite"), "--audit-sealers", "2"]);
    expect([sqlite.status, sqlite.err]).toEqual([2, expect.stringContaining("only a PostgreSQL store")]);
    let err = "";
    const io: Io = {
      out: () => {},
      err: (t) => {
        err += t;
      },
      now: () => clock.now,
    };
    expect(await main(["bank", "frobnicate"], io)).toBe(2);
    expect(err).toMatch(/unknown bank subcommand/);
    expect(await main(["bank", "verify", "--user-id", "abc", "123456"], io)).toBe(2);
    expect(await main(["bank", "verify", "--user-id", "2083L0000001A001"], io)).toBe(2);
    const saved = process.env[MASTER_KEY_ENV];
    delete process.env[MASTER_KEY_ENV];
    try {
      const missing = await cli(["status", "--db", join(dir, "x.sqlite"), "--user-id", "2083L0000001A001"]);
      expect(missing.status).toBe(1);
      expect(missing.err).toMatch(/--master-key-file.*OTP_BANK_MASTER_KEY/);
    } finally {
      if (saved !== undefined) process.env[MASTER_KEY_ENV] = saved;
    }
  });
});
