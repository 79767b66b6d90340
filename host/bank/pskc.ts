// PSKC, the Portable Symmetric Key Container (RFC 6030), for moving tokens' seeds between validation
// servers or importing a factory-seeded batch. Secrets are always encrypted: AES-CBC with a key
// either pre-shared (§6.1, named by ds:KeyName) or derived from a passphrase with PBKDF2 (§6.2,
// xenc11:DerivedKey), IV prepended to the ciphertext (XML Encryption §5.2). Every encrypted value
// carries a ValueMAC under a random MAC key that is itself encrypted (§6.1.1). TOTP keys only
// (urn:ietf:params:xml:ns:keyprov:pskc:totp); the hash is the AlgorithmParameters Suite.
// An import needs the MACs (MACMethod and a ValueMAC on every secret), which bind each secret to the
// document's key but not to its metadata: a key's UserId and SerialNo are trusted only when the
// document carries an XML signature (§7, host/bank/pskc-sign.ts) that verifies against the signer
// certificate the operator gives; readPskc says so in `signedBy`, and the transfer room gives every
// token of an unsigned document a new User ID.
// Interop: Debian's python3-pskc reads what this writes and writes what this reads; pskctool
// validates it against the RFC's schema (test/pskc.test.ts); libxmlsec1 (xmlsec1, pskctool) verifies
// our signatures and makes ones we verify (test/pskc-sign.test.ts).
import { createCipheriv, createDecipheriv, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual, type X509Certificate } from "node:crypto";
import { DOMParser, type Element } from "@xmldom/xmldom";
import { LABEL_PATTERN, USER_ID_PATTERN } from "../identity.js";
import type { Algorithm } from "../otp.js";
import { BankError } from "./errors.js";
import type { OtpParameters } from "./protocol.js";
import { type PskcSigner, signPskc, verifyPskcSignature } from "./pskc-sign.js";

const NS = {
  pskc: "urn:ietf:params:xml:ns:keyprov:pskc",
  ds: "http://www.w3.org/2000/09/xmldsig#",
  xenc: "http://www.w3.org/2001/04/xmlenc#",
  xenc11: "http://www.w3.org/2009/xmlenc11#",
  pkcs5: "http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#",
};
const TOTP_ALGORITHM = "urn:ietf:params:xml:ns:keyprov:pskc:totp";
const PBKDF2_URI = `${NS.pkcs5}pbkdf2`;
const CIPHER_BY_URI: Record<string, { cipher: string; keyBytes: number }> = {
  [`${NS.xenc}aes128-cbc`]: { cipher: "aes-128-cbc", keyBytes: 16 },
  [`${NS.xenc}aes192-cbc`]: { cipher: "aes-192-cbc", keyBytes: 24 },
  [`${NS.xenc}aes256-cbc`]: { cipher: "aes-256-cbc", keyBytes: 32 },
};
const HMAC_SHA256_URI = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256";
/** Our PBE: PBKDF2-HMAC-SHA256, this many iterations, a 32-byte key for AES-256-CBC. */
export const PBKDF2_ITERATIONS = 100_000;
const SUITE_BY_ALGORITHM: Record<Algorithm, string> = { SHA1: "HMAC-SHA1", SHA256: "HMAC-SHA256", SHA512: "HMAC-SHA512" };

/** How a document's secrets are (to be) encrypted. */
export type PskcEncryption = { kind: "pbe"; passphrase: string; iterations?: number } | { kind: "psk"; key: Uint8Array; keyName?: string };

/** What the writer needs of a token (Bank.exportSecrets gives this). */
export interface PskcTokenOut {
  userId: string;
  serial: string;
  seed: Uint8Array;
  params: OtpParameters;
  driftSteps: number;
  expiresAt: number;
  /** DeviceInfo Manufacturer; "otp-token" when not given. */
  manufacturer?: string;
  /** Key Issuer, written when given. */
  issuer?: string;
}

/** A token read from a document. */
export interface PskcTokenIn {
  serial: string;
  userId?: string;
  seed: Uint8Array;
  params: OtpParameters;
  /** Unix seconds, when the document gives an expiry date. */
  expiresAt?: number;
  /** DeviceInfo Manufacturer and Key Issuer, when the document gives them. */
  manufacturer?: string;
  issuer?: string;
  /**
   * The SHA-256 fingerprint of the signer certificate, only when the document's XML signature
   * verified against it: then UserId, SerialNo and every other field were signed. Absent: nothing
   * but the secret (under its MAC) can be trusted, and the bank gives the token a new User ID.
   */
  signedBy?: string;
}

const fail = (message: string) => new BankError("pskc", message);

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&apos;", '"': "&quot;" })[c]!);
}

function encryptValue(cipher: string, key: Uint8Array, plaintext: Uint8Array): Buffer {
  const iv = randomBytes(16);
  const c = createCipheriv(cipher, key, iv);
  return Buffer.concat([iv, c.update(plaintext), c.final()]);
}

function decryptValue(cipher: string, key: Uint8Array, value: Buffer): Buffer {
  if (value.length < 32 || value.length % 16 !== 0) throw fail("an encrypted value has the wrong length for AES-CBC with its IV");
  const d = createDecipheriv(cipher, key, value.subarray(0, 16));
  try {
    return Buffer.concat([d.update(value.subarray(16)), d.final()]);
  } catch {
    throw fail("cannot decrypt the PSKC document: wrong passphrase or key");
  }
}

/** The encryption the API or CLI asked for: a passphrase (§6.2) or a pre-shared key in hex (§6.1). */
export function readPskcOptions(given: { passphrase?: string; key?: string; keyName?: string }): PskcEncryption {
  if (given.passphrase !== undefined && given.key !== undefined) throw fail("give either a passphrase or a pre-shared key, not both");
  if (given.passphrase !== undefined) {
    if (given.passphrase.length < 12) throw fail("the passphrase must be at least 12 characters");
    return { kind: "pbe", passphrase: given.passphrase };
  }
  if (given.key !== undefined) {
    const key = given.key.trim();
    if (!/^([0-9a-fA-F]{32}|[0-9a-fA-F]{64})$/.test(key)) throw fail("the pre-shared key must be 32 or 64 hex digits (AES-128 or AES-256)");
    return { kind: "psk", key: new Uint8Array(Buffer.from(key, "hex")), keyName: given.keyName };
  }
  throw fail("the export must be encrypted: give a passphrase (RFC 6030 §6.2) or a pre-shared key (§6.1)");
}

/** An encrypted PSKC document (RFC 6030) holding `tokens`, signed (§7) when a signer is given. */
export function writePskc(tokens: PskcTokenOut[], encryption: PskcEncryption, signer?: PskcSigner): string {
  let key: Uint8Array;
  let cipherUri: string;
  let encryptionKeyXml: string;
  if (encryption.kind === "pbe") {
    const salt = randomBytes(16);
    const iterations = encryption.iterations ?? PBKDF2_ITERATIONS;
    key = pbkdf2Sync(Buffer.from(encryption.passphrase, "utf8"), salt, iterations, 32, "sha256");
    cipherUri = `${NS.xenc}aes256-cbc`;
    encryptionKeyXml = [
      "  <xenc11:DerivedKey>",
      `   <xenc11:KeyDerivationMethod Algorithm="${PBKDF2_URI}">`,
      "    <xenc11:PBKDF2-params>",
      `     <Salt><Specified>${salt.toString("base64")}</Specified></Salt>`,
      `     <IterationCount>${iterations}</IterationCount>`,
      "     <KeyLength>32</KeyLength>",
      `     <PRF Algorithm="${HMAC_SHA256_URI}"/>`,
      "    </xenc11:PBKDF2-params>",
      "   </xenc11:KeyDerivationMethod>",
      "  </xenc11:DerivedKey>",
    ].join("\n");
  } else {
    key = encryption.key;
    cipherUri = encryption.key.length === 16 ? `${NS.xenc}aes128-cbc` : `${NS.xenc}aes256-cbc`;
    encryptionKeyXml = `  <ds:KeyName>${escapeXml(encryption.keyName ?? "Pre-shared-key")}</ds:KeyName>`;
  }
  const { cipher } = CIPHER_BY_URI[cipherUri];
  const macKey = randomBytes(32);
  const encrypted = (plaintext: Uint8Array) => {
    const value = encryptValue(cipher, key, plaintext);
    return { value: value.toString("base64"), mac: createHmac("sha256", macKey).update(value).digest("base64") };
  };
  const parts = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<pskc:KeyContainer xmlns:pskc="${NS.pskc}" xmlns:ds="${NS.ds}" xmlns:xenc="${NS.xenc}" xmlns:xenc11="${NS.xenc11}" Version="1.0">`,
    " <pskc:EncryptionKey>",
    encryptionKeyXml,
    " </pskc:EncryptionKey>",
    ` <pskc:MACMethod Algorithm="${HMAC_SHA256_URI}">`,
    "  <pskc:MACKey>",
    `   <xenc:EncryptionMethod Algorithm="${cipherUri}"/>`,
    `   <xenc:CipherData><xenc:CipherValue>${encryptValue(cipher, key, macKey).toString("base64")}</xenc:CipherValue></xenc:CipherData>`,
    "  </pskc:MACKey>",
    " </pskc:MACMethod>",
  ];
  for (const token of tokens) {
    const secret = encrypted(token.seed);
    const expiry = new Date(token.expiresAt * 1000).toISOString().replace(/\.\d+Z$/, "Z");
    parts.push(
      " <pskc:KeyPackage>",
      "  <pskc:DeviceInfo>",
      `   <pskc:Manufacturer>${escapeXml(token.manufacturer ?? "otp-token")}</pskc:Manufacturer>`,
      `   <pskc:SerialNo>${escapeXml(token.serial)}</pskc:SerialNo>`,
      `   <pskc:ExpiryDate>${expiry}</pskc:ExpiryDate>`,
      "  </pskc:DeviceInfo>",
      `  <pskc:Key Id="${escapeXml(token.userId)}" Algorithm="${TOTP_ALGORITHM}">`,
      ...(token.issuer === undefined ? [] : [`   <pskc:Issuer>${escapeXml(token.issuer)}</pskc:Issuer>`]),
      "   <pskc:AlgorithmParameters>",
      `    <pskc:Suite>${SUITE_BY_ALGORITHM[token.params.algorithm]}</pskc:Suite>`,
      `    <pskc:ResponseFormat Length="${token.params.digits}" Encoding="DECIMAL"/>`,
      "   </pskc:AlgorithmParameters>",
      `   <pskc:FriendlyName>${escapeXml(token.params.label)}</pskc:FriendlyName>`,
      "   <pskc:Data>",
      "    <pskc:Secret>",
      "     <pskc:EncryptedValue>",
      `      <xenc:EncryptionMethod Algorithm="${cipherUri}"/>`,
      `      <xenc:CipherData><xenc:CipherValue>${secret.value}</xenc:CipherValue></xenc:CipherData>`,
      "     </pskc:EncryptedValue>",
      `     <pskc:ValueMAC>${secret.mac}</pskc:ValueMAC>`,
      "    </pskc:Secret>",
      "    <pskc:Time><pskc:PlainValue>0</pskc:PlainValue></pskc:Time>",
      `    <pskc:TimeInterval><pskc:PlainValue>${token.params.period}</pskc:PlainValue></pskc:TimeInterval>`,
      `    <pskc:TimeDrift><pskc:PlainValue>${token.driftSteps}</pskc:PlainValue></pskc:TimeDrift>`,
      "   </pskc:Data>",
      `   <pskc:UserId>${escapeXml(token.userId)}</pskc:UserId>`,
      "  </pskc:Key>",
      " </pskc:KeyPackage>",
    );
  }
  parts.push("</pskc:KeyContainer>", "");
  macKey.fill(0);
  if (encryption.kind === "pbe") key.fill(0);
  return signer ? signPskc(parts.join("\n"), signer) : parts.join("\n");
}

// ---- reading ----

function children(parent: Element, ns: string | null, name: string): Element[] {
  const out: Element[] = [];
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    if (node.nodeType !== 1) continue;
    const element = node as Element;
    if (element.localName === name && (ns === "*" || element.namespaceURI === ns)) out.push(element);
  }
  return out;
}

const child = (parent: Element | undefined, ns: string | null, name: string): Element | undefined =>
  parent ? children(parent, ns, name)[0] : undefined;
const text = (element: Element | undefined): string | undefined => element?.textContent?.trim();

function base64(value: string | undefined, what: string): Buffer {
  if (value === undefined || !/^[A-Za-z0-9+/=\s]+$/.test(value)) throw fail(`${what} is missing or not base64`);
  return Buffer.from(value.replace(/\s+/g, ""), "base64");
}

/** The hash name of an xmldsig/xmldsig-more/pkcs5 HMAC URI ("...#hmac-sha256" -> "sha256"). */
function hmacHash(uri: string | undefined, what: string): string {
  const match = /hmac-(sha1|sha224|sha256|sha384|sha512)$/i.exec(uri ?? "");
  if (!match) throw fail(`${what} ${JSON.stringify(uri ?? "")} is not supported (HMAC-SHA1/224/256/384/512 are)`);
  return match[1].toLowerCase();
}

/** A document's key: PBKDF2 from the passphrase (§6.2), or the pre-shared key (§6.1). */
function documentKey(container: Element, secret: { passphrase?: string; key?: Uint8Array }): Uint8Array {
  const encryptionKey = child(container, NS.pskc, "EncryptionKey");
  if (!encryptionKey)
    throw fail("the document has no EncryptionKey: its secrets are not encrypted, and this bank imports only encrypted ones");
  const derived = child(encryptionKey, NS.xenc11, "DerivedKey") ?? child(encryptionKey, NS.pkcs5, "DerivedKey");
  if (derived) {
    if (secret.passphrase === undefined) throw fail("the document's key is derived from a passphrase (PBE): give the passphrase");
    const method = child(derived, "*", "KeyDerivationMethod");
    if (method?.getAttribute("Algorithm") !== PBKDF2_URI)
      throw fail(`key derivation ${JSON.stringify(method?.getAttribute("Algorithm") ?? "")} is not supported (PBKDF2 is)`);
    const params = child(method, "*", "PBKDF2-params");
    const salt = base64(text(child(child(params, "*", "Salt"), "*", "Specified")), "the PBKDF2 salt");
    const iterations = Number(text(child(params, "*", "IterationCount")));
    const length = Number(text(child(params, "*", "KeyLength")) ?? "16");
    if (!Number.isInteger(iterations) || iterations < 1 || iterations > 10_000_000)
      throw fail("the PBKDF2 iteration count is missing or out of range");
    if (![16, 24, 32].includes(length)) throw fail("the PBKDF2 key length must be 16, 24 or 32 bytes");
    // PRF as an Algorithm attribute (XML Encryption 1.1), or as text (as python-pskc 1.2 writes it); HMAC-SHA1 when absent (PKCS #5).
    const prf = child(params, "*", "PRF");
    const hash = prf ? hmacHash(prf.getAttribute("Algorithm") || text(prf), "the PBKDF2 PRF") : "sha1";
    return pbkdf2Sync(Buffer.from(secret.passphrase, "utf8"), salt, iterations, length, hash);
  }
  // A pre-shared key (§6.1): named by ds:KeyName, or not named at all (as python-pskc writes one without a name).
  if (secret.key === undefined) throw fail("the document's secrets are encrypted with a pre-shared key: give the key");
  return secret.key;
}

function encryptedValue(element: Element | undefined, what: string): { cipher: { cipher: string; keyBytes: number }; value: Buffer } {
  const uri = child(element, NS.xenc, "EncryptionMethod")?.getAttribute("Algorithm") ?? "";
  const cipher = CIPHER_BY_URI[uri];
  if (!cipher) throw fail(`${what}: encryption ${JSON.stringify(uri)} is not supported (AES-128/192/256-CBC are)`);
  return { cipher, value: base64(text(child(child(element, NS.xenc, "CipherData"), NS.xenc, "CipherValue")), `${what}'s CipherValue`) };
}

function parseTime(value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  // A date-time without a zone is read as UTC (as python-pskc writes it).
  const ms = Date.parse(/(Z|[+-]\d\d:\d\d)$/.test(value) ? value : `${value}Z`);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/**
 * The TOTP keys of an encrypted PSKC document, decrypted and MAC-checked. Nothing is returned unless
 * every key reads. With `signerCertificate`, the document must carry an XML signature (§7) that
 * verifies against it, and every key is returned with `signedBy`; without, a signature is not looked at.
 */
export function readPskc(
  xml: string,
  secret: { passphrase?: string; key?: Uint8Array },
  defaultLabel = "BANK",
  options: { signerCertificate?: X509Certificate } = {},
): PskcTokenIn[] {
  let container: Element | null;
  let signedBy: string | undefined;
  try {
    const doc = new DOMParser({
      onError: (level, message) => {
        if (level !== "warning") throw new Error(message);
      },
    }).parseFromString(xml, "application/xml");
    if (doc.doctype) throw new Error("a DOCTYPE is not allowed in a PSKC document");
    container = doc.documentElement;
  } catch (error) {
    throw fail(`the file is not well-formed XML: ${(error as Error).message.split("\n")[0]}`);
  }
  if (!container || container.namespaceURI !== NS.pskc || container.localName !== "KeyContainer")
    throw fail("the file is not a PSKC document (no pskc:KeyContainer)");
  if (options.signerCertificate) signedBy = verifyPskcSignature(container.ownerDocument!, options.signerCertificate);
  const key = documentKey(container, secret);
  const macMethod = child(container, NS.pskc, "MACMethod");
  // Without a MAC, a changed IV or ciphertext decrypts to another seed unnoticed (CBC is malleable).
  if (!macMethod) throw fail("the document has no MACMethod: its encrypted secrets are not authenticated, and this bank imports none such");
  const encryptedMacKey = encryptedValue(child(macMethod, NS.pskc, "MACKey"), "the MAC key");
  if (encryptedMacKey.cipher.keyBytes !== key.length)
    throw fail(`the MAC key's cipher needs a ${encryptedMacKey.cipher.keyBytes}-byte key; the document key has ${key.length}`);
  const mac = {
    hash: hmacHash(macMethod.getAttribute("Algorithm") ?? undefined, "the MAC method"),
    key: decryptValue(encryptedMacKey.cipher.cipher, key, encryptedMacKey.value),
  };
  const tokens: PskcTokenIn[] = [];
  for (const keyPackage of children(container, NS.pskc, "KeyPackage")) {
    const device = child(keyPackage, NS.pskc, "DeviceInfo");
    const keyElement = child(keyPackage, NS.pskc, "Key");
    const name = keyElement?.getAttribute("Id") || text(child(device, NS.pskc, "SerialNo")) || `#${tokens.length + 1}`;
    const where = `key ${JSON.stringify(name)}`;
    if (!keyElement) throw fail("a KeyPackage has no Key");
    if (keyElement.getAttribute("Algorithm") !== TOTP_ALGORITHM)
      throw fail(`${where}: algorithm ${JSON.stringify(keyElement.getAttribute("Algorithm"))} is not TOTP (${TOTP_ALGORITHM})`);
    const serial = text(child(device, NS.pskc, "SerialNo"));
    if (serial === undefined || !/^[A-Za-z0-9._-]{1,64}$/.test(serial))
      throw fail(`${where}: the DeviceInfo SerialNo is missing or not 1-64 letters, digits, dots, hyphens or underscores`);
    const parameters = child(keyElement, NS.pskc, "AlgorithmParameters");
    const suite = (text(child(parameters, NS.pskc, "Suite")) ?? "HMAC-SHA1").toUpperCase().replace(/^HMAC-?/, "");
    const algorithm = (
      { SHA1: "SHA1", "SHA-1": "SHA1", SHA256: "SHA256", "SHA-256": "SHA256", SHA512: "SHA512", "SHA-512": "SHA512" } as Record<
        string,
        Algorithm
      >
    )[suite];
    if (!algorithm) throw fail(`${where}: suite ${JSON.stringify(suite)} is not HMAC-SHA1, HMAC-SHA256 or HMAC-SHA512`);
    const format = child(parameters, NS.pskc, "ResponseFormat");
    const digits = Number(format?.getAttribute("Length"));
    if (![6, 7, 8].includes(digits) || (format?.getAttribute("Encoding") ?? "DECIMAL") !== "DECIMAL")
      throw fail(`${where}: the response must be 6, 7 or 8 decimal digits`);
    const data = child(keyElement, NS.pskc, "Data");
    const plain = (field: string) => text(child(child(data, NS.pskc, field), NS.pskc, "PlainValue"));
    const t0 = plain("Time");
    if (t0 !== undefined && t0 !== "0") throw fail(`${where}: a TOTP start time (T0) other than 0 is not supported`);
    // RFC 6030 §4.3.4: TimeInterval defaults to 30 seconds.
    const period = Number(plain("TimeInterval") ?? "30");
    if (!Number.isInteger(period) || period < 1 || period > 86400) throw fail(`${where}: the time interval must be 1-86400 seconds`);
    const secretElement = child(data, NS.pskc, "Secret");
    if (!secretElement) throw fail(`${where}: it has no secret`);
    if (child(secretElement, NS.pskc, "PlainValue"))
      throw fail(`${where}: the secret is not encrypted; this bank imports only encrypted secrets`);
    const encrypted = encryptedValue(child(secretElement, NS.pskc, "EncryptedValue"), where);
    if (encrypted.cipher.keyBytes !== key.length)
      throw fail(`${where}: its cipher needs a ${encrypted.cipher.keyBytes}-byte key; the document key has ${key.length}`);
    // The MAC covers IV and ciphertext (§6.1.1), so a flipped IV bit is refused here, before decryption.
    const valueMac = text(child(secretElement, NS.pskc, "ValueMAC"));
    if (valueMac === undefined) throw fail(`${where}: the secret has no ValueMAC: it is not authenticated`);
    const givenMac = base64(valueMac, `${where}: the ValueMAC`);
    const expectedMac = createHmac(mac.hash, mac.key).update(encrypted.value).digest();
    if (givenMac.length !== expectedMac.length || !timingSafeEqual(givenMac, expectedMac))
      throw fail(`${where}: the ValueMAC does not match: the document was altered, or the key is wrong`);
    const seed = new Uint8Array(decryptValue(encrypted.cipher.cipher, key, encrypted.value));
    if (seed.length < 10 || seed.length > 64) throw fail(`${where}: the secret must be 10-64 bytes, got ${seed.length}`);
    const userId = text(child(keyElement, NS.pskc, "UserId")) ?? text(child(device, NS.pskc, "UserId"));
    if (userId !== undefined && !USER_ID_PATTERN.test(userId))
      throw fail(`${where}: UserId ${JSON.stringify(userId)} is not a User ID of this bank (16 upper-case letters or digits)`);
    const friendly = text(child(keyElement, NS.pskc, "FriendlyName"));
    const manufacturer = text(child(device, NS.pskc, "Manufacturer"));
    const issuer = text(child(keyElement, NS.pskc, "Issuer"));
    for (const [field, value] of [
      ["Manufacturer", manufacturer],
      ["Issuer", issuer],
    ])
      if (value !== undefined && !/^[\x20-\x7e\u00a0-\uffff]{1,100}$/u.test(value))
        throw fail(`${where}: the ${field} must be 1-100 printable characters`);
    const expiresAt = parseTime(
      text(child(device, NS.pskc, "ExpiryDate")) ?? text(child(child(keyElement, NS.pskc, "Policy"), NS.pskc, "ExpiryDate")),
    );
    tokens.push({
      serial,
      ...(userId === undefined ? {} : { userId }),
      seed,
      params: { algorithm, digits, period, label: friendly !== undefined && LABEL_PATTERN.test(friendly) ? friendly : defaultLabel },
      ...(expiresAt === undefined ? {} : { expiresAt }),
      ...(manufacturer === undefined ? {} : { manufacturer }),
      ...(issuer === undefined ? {} : { issuer }),
      ...(signedBy === undefined ? {} : { signedBy }),
    });
  }
  mac.key.fill(0);
  if (key !== secret.key) key.fill(0);
  if (tokens.length === 0) throw fail("the document holds no KeyPackage");
  return tokens;
}
