// PSKC trust (issue 19): the MACs bind each secret to the document's key, nothing more, so an
// unsigned import never uses a document's UserId (new User IDs, the mapping printed); a signed one
// (RFC 6030 §7, an enveloped XML signature over the KeyContainer) keeps them once the signature
// verifies against the certificate the operator gives. Signatures are proven against libxmlsec1, an
// implementation we did not write: xmlsec1 verifies ours and signs python3-pskc's documents that we
// then verify and import; python3-pskc reads our signed export. (python3-pskc's own signing needs
// signxml, which Debian 12 does not package.) Certificates are made here with openssl, per run.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import { BankError } from "../host/bank/errors.js";
import { openStore } from "../host/bank/open-store.js";
import { readPskc, writePskc } from "../host/bank/pskc.js";
import { readSigner, readSignerCertificate, signPskc } from "../host/bank/pskc-sign.js";
import type { BankStore } from "../host/bank/store.js";
import { makeBankCommand } from "../host/cli/bank.js";
import type { Terminal } from "../host/cli/prompt.js";
import { type Io, UsageError } from "../host/usage.js";
import { activateToken, codeAt, type TokenProfile } from "./bank-helpers.js";

const PYTHON = "/usr/bin/python3";
const CI = process.env.CI === "true";
const tool = (command: string, args: string[]) => spawnSync(command, args).status === 0;
const hasPythonPskc = tool(PYTHON, ["-c", "import pskc"]);
const hasXmlsec = tool("xmlsec1", ["--version"]);
const hasOpenssl = tool("openssl", ["version"]);
const hasPskctool = tool("pskctool", ["--version"]);
if (CI && !(hasPythonPskc && hasXmlsec && hasOpenssl && hasPskctool))
  throw new Error("CI: python3-pskc, xmlsec1, pskctool and openssl are needed (.ci/run installs them)");
if (!hasXmlsec) console.warn("pskc-sign test: xmlsec1 is not installed (apt-get install xmlsec1): interop of signatures skipped");
if (!hasPythonPskc) console.warn("pskc-sign test: python3-pskc is not installed for /usr/bin/python3: interop with it skipped");

const START = 1_900_000_020;
const PASSPHRASE = "correct horse battery staple";
const PSK_HEX = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const PSK = { key: new Uint8Array(Buffer.from(PSK_HEX, "hex")) };
let dir: string;
const clock = { now: START };
const stores: BankStore[] = [];
let source: Bank;
const held: { userId: string; token: TokenProfile }[] = [];

async function newBank(name: string, serviceId = "10212083"): Promise<Bank> {
  const store = await openStore(join(dir, name), { create: true });
  stores.push(store);
  const bank = await Bank.open(store, MasterKey.fromBytes(new Uint8Array(32).fill(6)), { now: () => clock.now });
  await bank.updateSettings({ serviceId });
  return bank;
}

async function issue(bank: Bank, serial: bigint): Promise<{ userId: string; token: TokenProfile }> {
  const issued = await bank.issue({ mail: "p@example.jp", mailConfirm: "p@example.jp", password: "Pass1234", passwordConfirm: "Pass1234" });
  const token = await activateToken(bank, issued.serviceId, issued.userId, "Pass1234", serial);
  await bank.confirm(issued.userId, codeAt(token, clock.now));
  return { userId: issued.userId, token };
}

/** A self-signed certificate and its key, made by openssl: rsa or ec (P-256). */
function certificate(name: string, kind: "rsa" | "ec"): { key: string; cert: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  const newkey = kind === "rsa" ? ["-newkey", "rsa:2048"] : ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
  execFileSync("openssl", ["req", "-x509", ...newkey, "-nodes", "-keyout", key, "-out", cert, "-subj", `/CN=${name}`, "-days", "2"], {
    stdio: "ignore",
  });
  return { key, cert };
}

let rsa: { key: string; cert: string };
let ec: { key: string; cert: string };
let stranger: { key: string; cert: string };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "otp-pskc-sign-"));
  source = await newBank("source.sqlite");
  for (const serial of [1n, 2n]) held.push(await issue(source, serial));
  if (hasOpenssl) {
    rsa = certificate("rsa", "rsa");
    ec = certificate("ec", "ec");
    stranger = certificate("stranger", "rsa");
  }
});

afterAll(async () => {
  for (const store of stores) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const refusal = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(BankError);
    return (error as BankError).message;
  }
  throw new Error("expected a refusal");
};

const exported = async (signer?: { key: string; cert?: string }) =>
  writePskc(
    await source.exportSecrets(
      held.map((h) => h.userId),
      "test",
    ),
    { kind: "psk", key: PSK.key },
    signer && readSigner(readFileSync(signer.key), signer.cert && readFileSync(signer.cert)),
  );

/** Runs `otp-token bank ...` in-process; the passphrase prompts answered from `answers`. */
async function cli(args: string[]): Promise<{ status: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: Io = {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    now: () => clock.now,
  };
  const stdin: Terminal = { isTTY: false, readAll: () => "", readSecret: async () => "", ask: async () => "" };
  try {
    return { status: await makeBankCommand(stdin)(args, io), out, err };
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return { status: 2, out, err: err + error.message };
  }
}

describe("PSKC without a signature: the MACs are required, and a UserId is never used", () => {
  it("a MAC'd export with two UserIds swapped imports as new User IDs: neither victim's User ID gets the other's seed", async () => {
    const xml = await exported();
    const [a, b] = held.map((h) => h.userId);
    const swapped = xml.replaceAll(`>${a}<`, ">SWAP<").replaceAll(`>${b}<`, `>${a}<`).replaceAll(">SWAP<", `>${b}<`);
    expect(swapped).not.toBe(xml);
    // Another bank (as when tokens move): every token gets a User ID of its own; the file's are reported, not used.
    const target = await newBank("swap.sqlite", "55501234");
    const tokens = readPskc(swapped, PSK);
    expect(tokens.map((t) => [t.userId, t.signedBy])).toEqual([
      [b, undefined],
      [a, undefined],
    ]);
    const imported = await target.importSecrets(tokens, "test");
    expect(imported).toEqual([
      { userId: "1234L0000001A001", serial: tokens[0].serial, fileUserId: b },
      { userId: "1234L0000002A001", serial: tokens[1].serial, fileUserId: a },
    ]);
    for (const victim of [a, b]) await expect(target.status(victim)).rejects.toThrow(/nothing is known for this User ID/);
    // Each seed went with its own key: the token behind the file's first key logs in at the first new User ID.
    clock.now += 60;
    expect((await target.verify(imported[0].userId, codeAt(held[0].token, clock.now))).ok).toBe(true);
    expect((await target.verify(imported[1].userId, codeAt(held[1].token, clock.now))).ok).toBe(true);
    // And importing the swapped file into the bank the victims live in attaches nothing to them.
    const again = await source.importSecrets(readPskc(swapped, PSK), "test");
    expect(again.map((t) => t.userId)).toEqual(["2083L0000003A001", "2083L0000004A001"]);
    clock.now += 60;
    await expect(source.verify(a, codeAt(held[1].token, clock.now))).rejects.toThrow(/wrong|incorrect|not valid|does not match/i);
    clock.now += 60;
    expect((await source.verify(a, codeAt(held[0].token, clock.now))).ok).toBe(true);
  });

  it("a document without its MAC, or a secret without its ValueMAC, is refused; one flipped IV bit is refused by the MAC", async () => {
    const xml = await exported();
    const noMac = xml.replace(/<pskc:MACMethod[\s\S]*?<\/pskc:MACMethod>\s*/, "").replace(/<pskc:ValueMAC>[^<]*<\/pskc:ValueMAC>\s*/g, "");
    expect(noMac).not.toMatch(/MACMethod|ValueMAC/);
    expect(refusal(() => readPskc(noMac, PSK))).toMatch(/no MACMethod: its encrypted secrets are not authenticated/);
    const noValueMac = xml.replace(/<pskc:ValueMAC>[^<]*<\/pskc:ValueMAC>/, "");
    expect(refusal(() => readPskc(noValueMac, PSK))).toMatch(/the secret has no ValueMAC/);
    // The first key's secret: its IV is the first 16 bytes of the CipherValue.
    const value = /<pskc:Secret>\s*<pskc:EncryptedValue>[\s\S]*?<xenc:CipherValue>([^<]+)</.exec(xml)![1];
    const flipped = Buffer.from(value, "base64");
    flipped[15] ^= 0x01;
    const ivFlipped = xml.replace(value, flipped.toString("base64"));
    expect(refusal(() => readPskc(ivFlipped, PSK))).toMatch(/ValueMAC does not match/);
    // Before, without the MAC, the same flip decrypted: the seed's last byte of the first block XOR 1.
    expect(refusal(() => readPskc(ivFlipped.replace(/<pskc:MACMethod[\s\S]*?<\/pskc:MACMethod>/, ""), PSK))).toMatch(/no MACMethod/);
  });

  it("the CLI: an unsigned import prints the mapping; a refused one exits 1 with one line and stores nothing", async () => {
    const db = join(dir, "cli-unsigned.sqlite");
    const keyFile = join(dir, "master.key");
    writeFileSync(keyFile, "06".repeat(32), { mode: 0o600 });
    const psk = join(dir, "psk.key");
    writeFileSync(psk, PSK_HEX, { mode: 0o600 });
    const c = ["--db", db, "--master-key-file", keyFile];
    expect((await cli(["init", ...c, "--service-id", "55501234"])).status).toBe(0);
    const xml = await exported();
    const [a, b] = held.map((h) => h.userId);
    const bad = join(dir, "no-mac.pskcxml");
    writeFileSync(bad, xml.replace(/<pskc:MACMethod[\s\S]*?<\/pskc:MACMethod>/, ""));
    const refused = await cli(["import", ...c, bad, "--key-file", psk]);
    expect(refused.status).toBe(1);
    expect(refused.err.trim().split("\n")).toHaveLength(1);
    expect(refused.err).toMatch(/no MACMethod/);
    expect((await cli(["status", ...c])).out).toMatch(/Tokens: 0 active/);
    const good = join(dir, "good.pskcxml");
    writeFileSync(good, xml);
    const run = await cli(["import", ...c, good, "--key-file", psk]);
    expect(run.status).toBe(0);
    expect(run.out).toBe(
      [
        "imported 2 tokens, unsigned (no --signer-cert): each has a new User ID; the file's is not used:",
        `  serial 0000000000000001  User ID 1234L0000001A001  (the file's User ID ${a})`,
        `  serial 0000000000000002  User ID 1234L0000002A001  (the file's User ID ${b})`,
        "",
      ].join("\n"),
    );
  });

  it.skipIf(!hasPythonPskc)(
    "Issuer, Manufacturer and SerialNo are read, recorded in the audit trail, kept with the token and exported again",
    async () => {
      const path = join(dir, "device.pskcxml");
      execFileSync(PYTHON, [
        "-c",
        `
import sys, pskc
doc = pskc.PSKC()
doc.add_key(id="F-9", secret=bytes.fromhex("3132333435363738393031323334353637383930"), serial="FACT0009", manufacturer="Factory Ltd",
            issuer="ACME Bank", algorithm="urn:ietf:params:xml:ns:keyprov:pskc:totp", response_length=6, response_encoding="DECIMAL",
            time_interval=30)
doc.encryption.setup_preshared_key(key=bytes.fromhex(sys.argv[2]), algorithm="aes256-cbc")
doc.mac.setup(algorithm="hmac-sha256")
doc.write(sys.argv[1])
`,
        path,
        PSK_HEX,
      ]);
      const [token] = readPskc(readFileSync(path, "utf8"), PSK);
      expect(token).toMatchObject({ serial: "FACT0009", manufacturer: "Factory Ltd", issuer: "ACME Bank" });
      const target = await newBank("device.sqlite");
      const [imported] = await target.importSecrets([token], "test");
      const event = (await target.auditEvents(0, 100)).find((e) => e.kind === "pskc-import")!;
      expect(event.detail).toBe('serial FACT0009, manufacturer "Factory Ltd", issuer "ACME Bank", unsigned');
      // Kept by the bank and written back by its export (the token's row holds them: tokens.issuer,
      // tokens.manufacturer), python3-pskc reads the same three.
      expect(await target.store.getToken(imported.userId)).toMatchObject({ issuer: "ACME Bank", manufacturer: "Factory Ltd" });
      const out = join(dir, "device-out.pskcxml");
      writeFileSync(out, writePskc(await target.exportSecrets([imported.userId], "test"), { kind: "psk", key: PSK.key }));
      const read = JSON.parse(
        execFileSync(
          PYTHON,
          [
            "-c",
            "import sys, json, pskc\nd = pskc.PSKC(sys.argv[1])\nd.encryption.key = bytes.fromhex(sys.argv[2])\nprint(json.dumps([[k.serial, k.manufacturer, k.issuer, k.secret.hex()] for k in d.keys]))",
            out,
            PSK_HEX,
          ],
          { encoding: "utf8" },
        ),
      );
      expect(read).toEqual([["FACT0009", "Factory Ltd", "ACME Bank", Buffer.from("12345678901234567890").toString("hex")]]);
    },
  );
});

describe.skipIf(!hasOpenssl)("PSKC with an XML signature (RFC 6030 §7)", () => {
  it("our signed export verifies with the signer's certificate, not another's; without one the signature is not used", async () => {
    for (const signer of [rsa, ec]) {
      const xml = await exported(signer);
      expect(xml).toMatch(/<ds:Signature xmlns:ds="[^"]+">[\s\S]*<\/ds:Signature>\n<\/pskc:KeyContainer>/);
      const cert = readSignerCertificate(readFileSync(signer.cert));
      const tokens = readPskc(xml, PSK, "BANK", { signerCertificate: cert });
      expect(tokens.map((t) => [t.userId, t.signedBy])).toEqual(held.map((h) => [h.userId, cert.fingerprint256]));
      expect(refusal(() => readPskc(xml, PSK, "BANK", { signerCertificate: readSignerCertificate(readFileSync(stranger.cert)) }))).toMatch(
        signer === rsa ? /does not verify with the signer certificate/ : /signed with ecdsa-sha256, the signer certificate holds a rsa key/,
      );
      expect(readPskc(xml, PSK).map((t) => t.signedBy)).toEqual([undefined, undefined]);
    }
    const unsigned = await exported();
    expect(refusal(() => readPskc(unsigned, PSK, "BANK", { signerCertificate: readSignerCertificate(readFileSync(rsa.cert)) }))).toMatch(
      /not signed, but a signer certificate was given/,
    );
  });

  it("one byte of signed metadata changed, or a wrapped or second signature, is refused", async () => {
    const xml = await exported(rsa);
    const signerCertificate = readSignerCertificate(readFileSync(rsa.cert));
    const read = (text: string) => refusal(() => readPskc(text, PSK, "BANK", { signerCertificate }));
    const [a] = held.map((h) => h.userId);
    const changes: [string, string][] = [
      [`<pskc:UserId>${a}</pskc:UserId>`, `<pskc:UserId>${a.slice(0, -1)}${a.endsWith("1") ? "2" : "1"}</pskc:UserId>`],
      ["<pskc:SerialNo>0000000000000001</pskc:SerialNo>", "<pskc:SerialNo>0000000000000003</pskc:SerialNo>"],
      ["<pskc:Manufacturer>otp-token</pskc:Manufacturer>", "<pskc:Manufacturer>otp-tokem</pskc:Manufacturer>"],
      ['<pskc:ResponseFormat Length="6"', '<pskc:ResponseFormat Length="7"'],
    ];
    for (const [from, to] of changes) {
      expect(xml).toContain(from);
      expect(read(xml.replace(from, to))).toMatch(/digest does not match: the document was changed after it was signed/);
    }
    // SignedInfo itself changed (the digest method named differently but equivalently is still a change).
    expect(read(xml.replace('<ds:Reference URI="">', '<ds:Reference URI="" Id="r">'))).toMatch(
      /does not verify with the signer certificate/,
    );
    const signature = /<ds:Signature xmlns:ds="[^"]+">[\s\S]*<\/ds:Signature>/.exec(xml)![0];
    expect(read(xml.replace("</pskc:KeyContainer>", `${signature}\n</pskc:KeyContainer>`))).toMatch(/2 ds:Signature elements/);
    // The signature moved into a KeyPackage (it then covers nothing it should).
    const moved = xml.replace(signature, "").replace("</pskc:KeyPackage>", `${signature}</pskc:KeyPackage>`);
    expect(read(moved)).toMatch(/not a child of the KeyContainer/);
    expect(read(xml.replace('<ds:Reference URI="">', '<ds:Reference URI="#elsewhere">'))).toMatch(/does not cover the whole KeyContainer/);
    expect(read(xml.replace('<?xml version="1.0" encoding="UTF-8"?>', '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "x">]>'))).toMatch(
      /DOCTYPE is not allowed/,
    );
  });

  it("a signed document keeps its User IDs in both orders of [a key without one, a key with the next free customer number]", async () => {
    const signer = readSigner(readFileSync(ec.key));
    const signerCertificate = readSignerCertificate(readFileSync(ec.cert));
    const secrets = await source.exportSecrets(
      held.map((h) => h.userId),
      "test",
    );
    for (const [name, order] of [
      ["without, then with", [0, 1]],
      ["with, then without", [1, 0]],
    ] as const) {
      const target = await newBank(`order-${name.replaceAll(/\W/g, "")}.sqlite`);
      // The target's next free customer number is 1: the second token claims it.
      const claimed = "2083L0000001A001";
      const tokens = order.map((i) => ({ ...secrets[i], userId: i === 1 ? claimed : "NONE000000000000" }));
      const xml = signPskc(
        writePskc(tokens, { kind: "psk", key: PSK.key }).replace("<pskc:UserId>NONE000000000000</pskc:UserId>", ""),
        signer,
      );
      const read = readPskc(xml, PSK, "BANK", { signerCertificate });
      const imported = await target.importSecrets(read, "test");
      const withId = order.indexOf(1);
      expect(imported[withId]).toEqual({ userId: claimed, serial: secrets[1].serial });
      expect(imported[1 - withId]).toEqual({ userId: "2083L0000002A001", serial: secrets[0].serial });
      clock.now += 60;
      expect((await target.verify(claimed, codeAt(held[1].token, clock.now))).ok).toBe(true);
      // The same file read without the certificate: both keys get new User IDs, in either order.
      const unsigned = await newBank(`order-unsigned-${name.replaceAll(/\W/g, "")}.sqlite`);
      expect((await unsigned.importSecrets(readPskc(xml, PSK), "test")).map((t) => t.userId)).toEqual([
        "2083L0000001A001",
        "2083L0000002A001",
      ]);
    }
  });

  it("the CLI: export --sign-key, import --signer-cert keeps the User IDs; a changed byte exits 1 and stores nothing", async () => {
    const keyFile = join(dir, "master2.key");
    writeFileSync(keyFile, "06".repeat(32), { mode: 0o600 });
    const psk = join(dir, "psk2.key");
    writeFileSync(psk, PSK_HEX, { mode: 0o600 });
    const from = ["--db", join(dir, "source.sqlite"), "--master-key-file", keyFile];
    const to = ["--db", join(dir, "cli-signed.sqlite"), "--master-key-file", keyFile];
    expect((await cli(["init", ...to, "--service-id", "55501234"])).status).toBe(0);
    const out = join(dir, "signed.pskcxml");
    const ids = held.flatMap((h) => ["--user-id", h.userId]);
    const made = await cli(["export", ...from, ...ids, "--out", out, "--key-file", psk, "--sign-key", rsa.key, "--sign-cert", rsa.cert]);
    expect(made).toMatchObject({ status: 0, out: `exported 2 tokens to ${out}, signed\n` });
    expect(readFileSync(out, "utf8")).toContain("<ds:X509Certificate>");
    expect((await cli(["export", ...from, "--out", join(dir, "x.pskcxml"), "--key-file", psk, "--sign-key", rsa.cert])).err).toMatch(
      /not a PEM private key/,
    );
    expect(
      (await cli(["export", ...from, "--out", join(dir, "x.pskcxml"), "--key-file", psk, "--sign-key", rsa.key, "--sign-cert", ec.cert]))
        .err,
    ).toMatch(/does not belong to the signing key/);
    const altered = join(dir, "altered.pskcxml");
    writeFileSync(altered, readFileSync(out, "utf8").replace("<pskc:SerialNo>0000000000000001<", "<pskc:SerialNo>0000000000000009<"));
    const refused = await cli(["import", ...to, altered, "--key-file", psk, "--signer-cert", rsa.cert]);
    expect(refused.status).toBe(1);
    expect(refused.err.trim().split("\n")).toHaveLength(1);
    expect(refused.err).toMatch(/digest does not match/);
    const imported = await cli(["import", ...to, out, "--key-file", psk, "--signer-cert", rsa.cert]);
    const fingerprint = readSignerCertificate(readFileSync(rsa.cert)).fingerprint256;
    expect(imported.out).toBe(
      [
        `imported 2 tokens; the signature verifies (signer certificate SHA-256 ${fingerprint}):`,
        ...held.map((h, i) => `  serial 000000000000000${i + 1}  User ID ${h.userId}`),
        "",
      ].join("\n"),
    );
    expect((await cli(["import", ...to, out, "--key-file", psk, "--signer-cert", rsa.cert])).err).toMatch(/already exists in this bank/);
  });
});

/** python3-pskc's document with an XML signature template, signed by xmlsec1 (inclusive C14N, the ds namespace the default on Signature). */
function xmlsecSign(unsigned: string, signer: { key: string; cert: string }, algorithm: string): string {
  const template = `<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">
 <SignedInfo>
  <CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>
  <SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#${algorithm}"/>
  <Reference URI="">
   <Transforms><Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/></Transforms>
   <DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
   <DigestValue/>
  </Reference>
 </SignedInfo>
 <SignatureValue/>
 <KeyInfo><X509Data/></KeyInfo>
</Signature>`;
  const withTemplate = unsigned.replace(/(<\/(?:[A-Za-z0-9_]+:)?KeyContainer>\s*)$/, `${template}\n$1`);
  expect(withTemplate).not.toBe(unsigned);
  const input = join(dir, "template.xml");
  writeFileSync(input, withTemplate);
  return execFileSync("xmlsec1", ["--sign", "--privkey-pem", `${signer.key},${signer.cert}`, input], { encoding: "utf8" });
}

describe.skipIf(!hasOpenssl || !hasXmlsec || !hasPythonPskc || !hasPskctool)(
  "PSKC signatures with libxmlsec1 (xmlsec1, pskctool) and python3-pskc",
  () => {
    it("xmlsec1 verifies our RSA and ECDSA signatures; python3-pskc reads the signed export", async () => {
      for (const signer of [rsa, ec]) {
        const path = join(dir, "ours-signed.pskcxml");
        writeFileSync(path, await exported(signer));
        const verified = spawnSync("xmlsec1", ["--verify", "--pubkey-cert-pem", signer.cert, path], { encoding: "utf8" });
        expect(verified.stderr).toMatch(/^OK/m);
        expect(verified.status).toBe(0);
        const other = spawnSync("xmlsec1", ["--verify", "--pubkey-cert-pem", stranger.cert, path], { encoding: "utf8" });
        expect(other.status).not.toBe(0);
        // pskctool (libpskc, on libxmlsec1) too: its verdict is the line it prints.
        expect(spawnSync("pskctool", ["--verify", "--verify-crt", signer.cert, path], { encoding: "utf8" }).stdout.trim()).toBe("OK");
        const altered = join(dir, "ours-altered.pskcxml");
        writeFileSync(altered, readFileSync(path, "utf8").replace("<pskc:SerialNo>0000000000000001<", "<pskc:SerialNo>0000000000000003<"));
        expect(spawnSync("pskctool", ["--verify", "--verify-crt", signer.cert, altered], { encoding: "utf8" }).stdout.trim()).toBe("FAIL");
        const read = JSON.parse(
          execFileSync(
            PYTHON,
            [
              "-c",
              "import sys, json, pskc\nd = pskc.PSKC(sys.argv[1])\nd.encryption.key = bytes.fromhex(sys.argv[2])\nprint(json.dumps([d.signature.is_signed, d.signature.algorithm, [[k.key_userid, k.secret.hex()] for k in d.keys]]))",
              path,
              PSK_HEX,
            ],
            { encoding: "utf8" },
          ),
        );
        expect(read).toEqual([
          true,
          `http://www.w3.org/2001/04/xmldsig-more#${signer === rsa ? "rsa" : "ecdsa"}-sha256`,
          held.map((h) => [h.userId, h.token.seed.toString("hex")]),
        ]);
      }
    });

    it("a python3-pskc document signed by xmlsec1 imports with its User ID kept; one changed byte is refused", async () => {
      const path = join(dir, "python-unsigned.pskcxml");
      execFileSync(PYTHON, [
        "-c",
        `
import sys, pskc
doc = pskc.PSKC()
k = doc.add_key(id="F-1", secret=bytes.fromhex("3132333435363738393031323334353637383930"), serial="FACT0001", manufacturer="factory",
                algorithm="urn:ietf:params:xml:ns:keyprov:pskc:totp", response_length=6, response_encoding="DECIMAL", time_interval=30)
k.key_userid = "2083L0000042A003"
doc.encryption.setup_pbkdf2(sys.argv[2], iterations=2000, key_length=32, prf="hmac-sha256", algorithm="aes256-cbc")
doc.mac.setup(algorithm="hmac-sha256")
doc.write(sys.argv[1])
`,
        path,
        PASSPHRASE,
      ]);
      for (const [signer, algorithm] of [
        [rsa, "rsa-sha256"],
        [ec, "ecdsa-sha256"],
      ] as const) {
        const signed = xmlsecSign(readFileSync(path, "utf8"), signer, algorithm);
        const signerCertificate = readSignerCertificate(readFileSync(signer.cert));
        const tokens = readPskc(signed, { passphrase: PASSPHRASE }, "BANK", { signerCertificate });
        expect(tokens.map((t) => [t.userId, t.serial, t.manufacturer, t.signedBy])).toEqual([
          ["2083L0000042A003", "FACT0001", "factory", signerCertificate.fingerprint256],
        ]);
        const target = await newBank(`xmlsec-${algorithm}.sqlite`);
        expect(await target.importSecrets(tokens, "test")).toEqual([{ userId: "2083L0000042A003", serial: "FACT0001" }]);
        clock.now += 60;
        const profile = { seed: Buffer.from("12345678901234567890"), algorithm: "SHA1", digits: 6, period: 30, label: "X" } as TokenProfile;
        expect((await target.verify("2083L0000042A003", codeAt(profile, clock.now))).ok).toBe(true);
        // That customer's next token issue is numbered after the imported one.
        const next = await target.issue({
          mail: "n@example.jp",
          mailConfirm: "n@example.jp",
          password: "Pass1234",
          passwordConfirm: "Pass1234",
          userId: "2083L0000042A003",
        });
        expect(next.userId).toBe("2083L0000042A004");
        expect(
          refusal(() =>
            readPskc(signed.replace("2083L0000042A003", "2083L0000043A003"), { passphrase: PASSPHRASE }, "BANK", { signerCertificate }),
          ),
        ).toMatch(/digest does not match/);
      }
    });
  },
);
