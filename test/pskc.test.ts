// PSKC (RFC 6030) export and import of tokens' seeds, encrypted (§6.1 pre-shared key, §6.2 PBE),
// proven against implementations we did not write: Debian's python3-pskc reads what we export and
// computes the same codes (TOTP in Python's own hmac), and writes documents we import; pskctool
// (libpskc) validates our export against the RFC's XML Schema, and signs a document that we then read.
// python3-pskc is a module of Debian's /usr/bin/python3 only (the first python3 on PATH may lack it).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import { BankError } from "../host/bank/errors.js";
import { readPskc, writePskc } from "../host/bank/pskc.js";
import type { BankStore } from "../host/bank/store.js";
import { openStore } from "../host/bank/open-store.js";
import { otpApi } from "../host/otp.js";
import { activateToken, codeAt, type TokenProfile } from "./bank-helpers.js";
import { commandWorks, requireTool } from "./helpers.js";

const PYTHON = "/usr/bin/python3";
const hasPythonPskc = requireTool(
  "python3-pskc",
  existsSync(PYTHON) && commandWorks(PYTHON, ["-c", "import pskc"]),
  "pskc test: python3-pskc is not installed for /usr/bin/python3: interop with it skipped",
);
const hasPskctool = requireTool("pskctool", commandWorks("pskctool", ["--version"]), "pskc test: schema validation and signing skipped");
const hasOpenssl = requireTool("openssl", commandWorks("openssl", ["version"]), "pskc test: the signing certificate cannot be made");

const api = otpApi();
const START = 1_900_000_020;
const PASSPHRASE = "correct horse battery staple";
const PSK_HEX = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
let dir: string;
let store: BankStore;
let bank: Bank;
const clock = { now: START };
const held: { userId: string; token: TokenProfile }[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "otp-pskc-"));
  store = await openStore(join(dir, "bank.sqlite"), { create: true });
  bank = await Bank.open(store, MasterKey.fromBytes(new Uint8Array(32).fill(6)), { now: () => clock.now });
  await bank.updateSettings({ serviceId: "10212083" });
  for (const otp of [{}, { algorithm: "SHA256", digits: 8, period: 30, label: "ACME-2" }, { algorithm: "SHA512", digits: 7 }]) {
    const issued = await bank.issue({
      mail: "p@example.jp",
      mailConfirm: "p@example.jp",
      password: "Pass1234",
      passwordConfirm: "Pass1234",
      otp: otp as never,
    });
    const token = await activateToken(bank, issued.serviceId, issued.userId, "Pass1234", BigInt(held.length + 1));
    await bank.confirm(issued.userId, codeAt(token, clock.now));
    held.push({ userId: issued.userId, token });
  }
});

afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Reads a PSKC file with python3-pskc and computes TOTP codes at `times` with Python's hmac (RFC 6238). */
const PY_READ = `
import sys, json, hmac, hashlib, struct, pskc
path, passphrase, key_hex, times = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
doc = pskc.PSKC(path)
if passphrase:
    doc.encryption.derive_key(passphrase)
else:
    doc.encryption.key = bytes.fromhex(key_hex)
out = []
for key in doc.keys:
    suite = (key.algorithm_suite or "HMAC-SHA1").upper().replace("HMAC-", "").replace("-", "")
    digest = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}[suite]
    codes = []
    for t in times:
        mac = hmac.new(key.secret, struct.pack(">Q", (t - (key.time_offset or 0)) // key.time_interval), digest).digest()
        o = mac[-1] & 15
        codes.append(str((struct.unpack(">I", mac[o:o + 4])[0] & 0x7fffffff) % 10 ** key.response_length).zfill(key.response_length))
    out.append({"id": key.id, "serial": key.serial, "userid": key.key_userid, "secret": key.secret.hex(), "digits": key.response_length,
                "interval": key.time_interval, "drift": key.time_drift, "suite": key.algorithm_suite, "codes": codes,
                "expiry": key.expiry_date.isoformat() if key.expiry_date else None})
print(json.dumps(out))
`;

/** Writes a PSKC file with python3-pskc: PBE (its defaults, or PBKDF2-HMAC-SHA256) or a pre-shared key. */
const PY_WRITE = `
import sys, pskc
path, mode = sys.argv[1], sys.argv[2]
doc = pskc.PSKC()
k = doc.add_key(id="F-1", secret=bytes.fromhex("3132333435363738393031323334353637383930"), serial="FACT0001", manufacturer="factory",
                algorithm="urn:ietf:params:xml:ns:keyprov:pskc:totp", response_length=6, response_encoding="DECIMAL", time_interval=60)
k = doc.add_key(id="F-2", secret=bytes.fromhex("3132333435363738393031323334353637383930313233343536373839303132"), serial="FACT0002",
                algorithm="urn:ietf:params:xml:ns:keyprov:pskc:totp", response_length=8, response_encoding="DECIMAL", time_interval=30)
k.algorithm_suite = "HMAC-SHA256"
k.key_userid = sys.argv[4] if len(sys.argv) > 4 else None
if mode == "pbe":
    doc.encryption.setup_pbkdf2(sys.argv[3], iterations=2000)
elif mode == "pbe256":
    doc.encryption.setup_pbkdf2(sys.argv[3], iterations=2000, key_length=32, prf="hmac-sha256", algorithm="aes256-cbc")
    doc.mac.setup(algorithm="hmac-sha256")
else:
    doc.encryption.setup_preshared_key(key=bytes.fromhex(sys.argv[3]), algorithm="aes256-cbc")
doc.write(path)
`;

function pythonRead(
  path: string,
  secret: { passphrase?: string; key?: string },
  times: number[],
): {
  id: string;
  serial: string;
  userid: string;
  secret: string;
  digits: number;
  interval: number;
  drift: number;
  suite: string;
  codes: string[];
  expiry: string;
}[] {
  return JSON.parse(
    execFileSync(PYTHON, ["-c", PY_READ, path, secret.passphrase ?? "", secret.key ?? "", JSON.stringify(times)], { encoding: "utf8" }),
  );
}

const TIMES = [START, START + 59, START + 3600, 2_000_000_000];

describe.skipIf(!hasPythonPskc)("PSKC: python3-pskc reads what we export", () => {
  it.each<[string, { passphrase?: string; key?: string }]>([
    ["§6.2 PBE (PBKDF2-HMAC-SHA256, AES-256-CBC, HMAC-SHA256 MACs)", { passphrase: PASSPHRASE }],
    ["§6.1 pre-shared AES-256 key", { key: PSK_HEX }],
  ])("%s: same seeds, parameters, User IDs, and the same codes computed in Python", async (_name, secret) => {
    const secrets = await bank.exportSecrets(undefined, "test");
    const path = join(dir, `export-${secret.passphrase ? "pbe" : "psk"}.pskcxml`);
    writeFileSync(
      path,
      writePskc(
        secrets,
        secret.passphrase ? { kind: "pbe", passphrase: secret.passphrase } : { kind: "psk", key: Buffer.from(secret.key!, "hex") },
      ),
    );
    const read = pythonRead(path, secret, TIMES);
    expect(read).toHaveLength(3);
    for (const [i, { userId, token }] of held.entries()) {
      const key = read.find((k) => k.userid === userId)!;
      expect(key).toMatchObject({
        id: userId,
        serial: secrets[i].serial,
        secret: token.seed.toString("hex"),
        digits: token.digits,
        interval: token.period,
        drift: 0,
      });
      expect(key.suite).toBe(`HMAC-${token.algorithm}`);
      expect(key.codes).toEqual(TIMES.map((t) => codeAt(token, t)));
      expect(Date.parse(`${key.expiry}Z`.replace(/\+00:00Z$/, "Z")) / 1000).toBe(secrets[i].expiresAt);
    }
    // And nothing secret in the clear.
    const text = readFileSync(path, "utf8");
    for (const { token } of held) expect(text).not.toContain(token.seed.toString("base64"));
  });

  it.skipIf(!hasPskctool)("pskctool validates our export against the RFC 6030 schema and lists its keys", async () => {
    const path = join(dir, "validate.pskcxml");
    writeFileSync(path, writePskc(await bank.exportSecrets(undefined, "test"), { kind: "pbe", passphrase: PASSPHRASE }));
    // pskctool exits 0 either way: its verdict is the line it prints (OK or FAIL, with the schema errors on stderr).
    const validated = spawnSync("pskctool", ["-e", path], { encoding: "utf8" });
    expect(validated.stderr).not.toMatch(/validity error/);
    expect(validated.stdout.trim()).toBe("OK");
    const info = spawnSync("pskctool", ["-i", path], { encoding: "utf8" }).stdout;
    for (const { userId } of held) expect(info).toContain(`Key User Id: ${userId}`);
    expect(info).toContain("Algorithm Parameters Suite: HMAC-SHA256");
  });
});

describe.skipIf(!hasPythonPskc)("PSKC: we read what python3-pskc (and pskctool) write", () => {
  it.each(["pbe", "pbe256", "psk"])(
    "python3-pskc %s: the seeds, then imported tokens that log in with their codes; unsigned, so the file's UserId is reported, not used",
    async (mode) => {
      const path = join(dir, `python-${mode}.pskcxml`);
      const secret = mode === "psk" ? PSK_HEX : PASSPHRASE;
      const fileUserId = `2083L${{ pbe: "9000009", pbe256: "9000008", psk: "9000007" }[mode]}A004`;
      execFileSync(PYTHON, ["-c", PY_WRITE, path, mode, secret, fileUserId]);
      const options = mode === "psk" ? { key: new Uint8Array(Buffer.from(PSK_HEX, "hex")) } : { passphrase: PASSPHRASE };
      const tokens = readPskc(readFileSync(path, "utf8"), options);
      expect(
        tokens.map((t) => [
          t.serial,
          t.userId,
          Buffer.from(t.seed).toString("latin1"),
          t.params.algorithm,
          t.params.digits,
          t.params.period,
        ]),
      ).toEqual([
        ["FACT0001", undefined, "12345678901234567890", "SHA1", 6, 60],
        ["FACT0002", fileUserId, "12345678901234567890123456789012", "SHA256", 8, 30],
      ]);
      expect(tokens[0].manufacturer).toBe("factory");
      const imported = await bank.importSecrets(tokens, "test");
      // New customers, numbered max + 1: the file's User ID (and its customer number 900000x) is not used.
      expect(imported).toEqual([
        { userId: expect.stringMatching(/^2083L000000\dA001$/), serial: "FACT0001" },
        { userId: expect.stringMatching(/^2083L000000\dA001$/), serial: "FACT0002", fileUserId },
      ]);
      await expect(bank.status(fileUserId)).rejects.toThrow(/nothing is known for this User ID/);
      clock.now += 60;
      for (const [i, t] of tokens.entries()) {
        const profile = {
          seed: Buffer.from(t.seed),
          algorithm: t.params.algorithm,
          digits: t.params.digits,
          period: t.params.period,
          label: "X",
        } as TokenProfile;
        expect((await bank.verify(imported[i].userId, codeAt(profile, clock.now))).ok).toBe(true);
      }
    },
  );

  it.skipIf(!hasPskctool || !hasOpenssl)(
    "pskctool's own output (a signed document) parses; it carries no secret (libpskc drops encrypted values), so it is refused, naming why",
    () => {
      const source = join(dir, "to-sign.pskcxml");
      execFileSync(PYTHON, ["-c", PY_WRITE, source, "pbe", PASSPHRASE]);
      execFileSync(
        "openssl",
        [
          "req",
          "-x509",
          "-newkey",
          "rsa:2048",
          "-nodes",
          "-keyout",
          join(dir, "sign.key"),
          "-out",
          join(dir, "sign.crt"),
          "-subj",
          "/CN=otp-token test",
          "-days",
          "1",
        ],
        { stdio: "ignore" },
      );
      const signed = execFileSync(
        "pskctool",
        ["--sign", "--sign-key", join(dir, "sign.key"), "--sign-crt", join(dir, "sign.crt"), source],
        { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
      );
      expect(signed).toContain("<Signature");
      expect(() => readPskc(signed, { passphrase: PASSPHRASE })).toThrow(/has no EncryptionKey: its secrets are not encrypted/);
    },
  );
});

describe("PSKC: refusals", () => {
  const fail = (xml: string, secret: { passphrase?: string; key?: Uint8Array }) => {
    try {
      readPskc(xml, secret);
    } catch (error) {
      expect(error).toBeInstanceOf(BankError);
      return (error as BankError).message;
    }
    throw new Error("expected a refusal");
  };

  it("a wrong passphrase or key, an altered value, an unencrypted or HOTP key, and not-XML are refused with a reason", async () => {
    const secrets = await bank.exportSecrets([held[0].userId], "test");
    const xml = writePskc(secrets, { kind: "pbe", passphrase: PASSPHRASE, iterations: 1000 });
    expect(readPskc(xml, { passphrase: PASSPHRASE })[0].seed).toEqual(new Uint8Array(held[0].token.seed));
    expect(fail(xml, { passphrase: "wrong passphrase!" })).toMatch(/wrong passphrase or key|ValueMAC does not match/);
    expect(fail(xml, { key: new Uint8Array(32) })).toMatch(/give the passphrase/);
    const value = /<xenc:CipherValue>([^<]+)<\/xenc:CipherValue>\s*<\/xenc:CipherData>\s*<\/pskc:EncryptedValue>/.exec(xml)![1];
    const flipped = Buffer.from(value, "base64");
    flipped[20] ^= 1;
    expect(fail(xml.replace(value, flipped.toString("base64")), { passphrase: PASSPHRASE })).toMatch(/ValueMAC does not match/);
    expect(fail(xml.replace("keyprov:pskc:totp", "keyprov:pskc:hotp"), { passphrase: PASSPHRASE })).toMatch(/is not TOTP/);
    const plain = xml.replace(
      /<pskc:EncryptedValue>[\s\S]*?<\/pskc:EncryptedValue>/,
      "<pskc:PlainValue>MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=</pskc:PlainValue>",
    );
    expect(fail(plain, { passphrase: PASSPHRASE })).toMatch(/not encrypted/);
    expect(fail("<nope", { passphrase: PASSPHRASE })).toMatch(/not well-formed XML|not a PSKC document/);
    expect(fail("<a/>", { passphrase: PASSPHRASE })).toMatch(/not a PSKC document/);
    expect(() => writePskc(secrets, { kind: "psk", key: new Uint8Array(16) })).not.toThrow();
    for (const s of secrets) s.seed.fill(0);
    expect(api).toBeDefined();
  });
});
