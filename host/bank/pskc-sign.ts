// XML Signature (XML-DSig 1.1) of a PSKC document, RFC 6030 §7: one enveloped signature, a child of
// the KeyContainer, whose one Reference covers the whole container (URI="" or "#" + the container's
// Id) through the enveloped-signature transform and a canonicalisation. What this bank writes:
// exclusive C14N 1.0 (SignedInfo and Reference), SHA-256 digest, RSA-SHA256 or ECDSA-SHA256/384/512
// by the key (RSA PKCS#1 v1.5; ECDSA as r || s, XML-DSig's form), the certificate in KeyInfo when
// given. What it verifies: the same, inclusive C14N 1.0 or 1.1 in place of exclusive, SHA-256/384/512
// digests, RSA and ECDSA with SHA-256/384/512, always against the certificate the operator gives
// (a KeyInfo in the document is never trusted). SHA-1, HMAC signatures, comments-preserving
// canonicalisation, other transforms and any second Signature are refused: the check is narrow so
// that what was verified is exactly the tree the importer then reads (no signature wrapping).
// Canonicalisation (W3C C14N 1.0/1.1 and Exclusive C14N 1.0) of whole subtrees, on @xmldom/xmldom's
// tree, with node:crypto for the rest; interop with libxmlsec1 (xmlsec1, pskctool) is tested in
// test/pskc-sign.test.ts.
import { createHash, createPrivateKey, createSign, createVerify, type KeyObject, X509Certificate } from "node:crypto";
import { DOMParser, type Document, type Element, type Node } from "@xmldom/xmldom";
import { BankError } from "./errors.js";

const DS = "http://www.w3.org/2000/09/xmldsig#";
const C14N10 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
const C14N11 = "http://www.w3.org/2006/12/xml-c14n11";
const EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENVELOPED = `${DS}enveloped-signature`;
const DIGESTS: Record<string, string> = {
  "http://www.w3.org/2001/04/xmlenc#sha256": "sha256",
  "http://www.w3.org/2001/04/xmldsig-more#sha384": "sha384",
  "http://www.w3.org/2001/04/xmlenc#sha512": "sha512",
};
const SIGNATURES: Record<string, { type: "rsa" | "ec"; hash: string }> = {
  "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": { type: "rsa", hash: "sha256" },
  "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": { type: "rsa", hash: "sha384" },
  "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": { type: "rsa", hash: "sha512" },
  "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256": { type: "ec", hash: "sha256" },
  "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384": { type: "ec", hash: "sha384" },
  "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512": { type: "ec", hash: "sha512" },
};
const EC_HASH_BY_CURVE: Record<string, string> = { prime256v1: "sha256", secp384r1: "sha384", secp521r1: "sha512" };

const fail = (message: string) => new BankError("pskc", message);

// ---- canonicalisation ----

type Mode = "inclusive" | "exclusive";

const escapeText = (s: string) => s.replace(/[&<>\r]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#xD;" })[c]!);
const escapeAttr = (s: string) =>
  s.replace(/[&<"\t\n\r]/g, (c) => ({ "&": "&amp;", "<": "&lt;", '"': "&quot;", "\t": "&#x9;", "\n": "&#xA;", "\r": "&#xD;" })[c]!);

/** The namespace declarations an element itself makes: prefix ("" for the default) -> URI. */
function declarations(element: Element): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < element.attributes.length; i++) {
    const attr = element.attributes[i];
    if (attr.name === "xmlns") out.set("", attr.value);
    else if (attr.name.startsWith("xmlns:")) out.set(attr.name.slice(6), attr.value);
  }
  out.delete("xml");
  return out;
}

/** Every namespace in scope at `element` (its ancestors' declarations, then its own). */
function inScope(element: Element): Map<string, string> {
  const chain: Element[] = [];
  for (let node: Node | null = element; node && node.nodeType === 1; node = node.parentNode) chain.unshift(node as Element);
  const scope = new Map<string, string>();
  for (const e of chain) for (const [prefix, uri] of declarations(e)) scope.set(prefix, uri);
  return scope;
}

const isNamespaceAttr = (name: string) => name === "xmlns" || name.startsWith("xmlns:");
const prefixOf = (qname: string) => (qname.includes(":") ? qname.slice(0, qname.indexOf(":")) : "");

function canonicalElement(
  element: Element,
  scope: Map<string, string>,
  rendered: Map<string, string>,
  mode: Mode,
  skip: Node | null,
): string {
  const ownScope = new Map(scope);
  for (const [prefix, uri] of declarations(element)) ownScope.set(prefix, uri);
  const attrs: { ns: string; local: string; name: string; value: string }[] = [];
  for (let i = 0; i < element.attributes.length; i++) {
    const attr = element.attributes[i];
    if (isNamespaceAttr(attr.name)) continue;
    attrs.push({ ns: attr.namespaceURI ?? "", local: attr.localName ?? attr.name, name: attr.name, value: attr.value });
  }
  // Which namespaces to render here: inclusive, every one in scope that the output parent did not
  // render the same way; exclusive, only those the element or its attributes visibly use.
  const candidates =
    mode === "inclusive"
      ? new Set([...ownScope.keys(), ...rendered.keys()])
      : new Set([prefixOf(element.tagName), ...attrs.map((a) => prefixOf(a.name)).filter((p) => p !== "" && p !== "xml")]);
  const nextRendered = new Map(rendered);
  const nsOut: [string, string][] = [];
  for (const prefix of candidates) {
    const uri = ownScope.get(prefix) ?? "";
    if (prefix !== "" && uri === "") continue;
    if ((rendered.get(prefix) ?? "") === uri) continue;
    nsOut.push([prefix, uri]);
    nextRendered.set(prefix, uri);
  }
  nsOut.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  attrs.sort((a, b) => (a.ns !== b.ns ? (a.ns < b.ns ? -1 : 1) : a.local < b.local ? -1 : a.local > b.local ? 1 : 0));
  let out = `<${element.tagName}`;
  for (const [prefix, uri] of nsOut) out += ` ${prefix === "" ? "xmlns" : `xmlns:${prefix}`}="${escapeAttr(uri)}"`;
  for (const a of attrs) out += ` ${a.name}="${escapeAttr(a.value)}"`;
  out += ">";
  for (let node = element.firstChild; node; node = node.nextSibling) {
    if (node === skip) continue;
    if (node.nodeType === 1) out += canonicalElement(node as Element, ownScope, nextRendered, mode, skip);
    else if (node.nodeType === 3 || node.nodeType === 4) out += escapeText(node.nodeValue ?? "");
    else if (node.nodeType === 7) out += `<?${node.nodeName}${node.nodeValue ? ` ${node.nodeValue}` : ""}?>`;
    else if (node.nodeType === 5) throw fail("the signed document holds an entity reference: it cannot be canonicalised");
    // Comments (8) are not part of a canonical form without comments.
  }
  return `${out}</${element.tagName}>`;
}

/**
 * The canonical form (without comments) of `element` and its subtree, `skip` left out (the
 * enveloped signature). With `wholeDocument` (a Reference URI="", `element` the root), processing
 * instructions around the root too; never the XML declaration.
 */
export function canonicalize(element: Element, mode: Mode, skip: Node | null = null, wholeDocument = false): string {
  const parent = element.parentNode && element.parentNode.nodeType === 1 ? (element.parentNode as Element) : null;
  // A subtree's apex sees the namespaces its ancestors declare. Inclusive C14N would also inherit
  // their xml: attributes: refuse rather than guess.
  for (let node: Node | null = parent; node && node.nodeType === 1; node = node.parentNode)
    for (let i = 0; i < (node as Element).attributes.length; i++)
      if (mode === "inclusive" && (node as Element).attributes[i].name.startsWith("xml:"))
        throw fail("the signature's SignedInfo inherits xml: attributes: not supported");
  const parentScope = parent ? inScope(parent) : new Map<string, string>();
  const body = canonicalElement(element, parentScope, new Map(), mode, skip);
  if (!wholeDocument || element.ownerDocument?.documentElement !== element) return body;
  let before = "";
  let after = "";
  let seenRoot = false;
  for (let node = element.ownerDocument.firstChild; node; node = node.nextSibling) {
    if (node === element) seenRoot = true;
    else if (node.nodeType === 7 && node.nodeName !== "xml") {
      const pi = `<?${node.nodeName}${node.nodeValue ? ` ${node.nodeValue}` : ""}?>`;
      if (seenRoot) after += `\n${pi}`;
      else before += `${pi}\n`;
    }
  }
  return before + body + after;
}

// ---- reading a signature ----

function dsChildren(parent: Element, name: string): Element[] {
  const out: Element[] = [];
  for (let node = parent.firstChild; node; node = node.nextSibling)
    if (node.nodeType === 1 && (node as Element).namespaceURI === DS && (node as Element).localName === name) out.push(node as Element);
  return out;
}

function one(parent: Element, name: string, where: string): Element {
  const found = dsChildren(parent, name);
  if (found.length !== 1) throw fail(`the signature's ${where} must have exactly one ds:${name} (it has ${found.length})`);
  return found[0];
}

function c14nMode(uri: string | null, what: string): Mode {
  if (uri === EXC_C14N) return "exclusive";
  if (uri === C14N10 || uri === C14N11) return "inclusive";
  throw fail(`the signature's ${what} ${JSON.stringify(uri ?? "")} is not supported (C14N 1.0, 1.1 or exclusive C14N, without comments)`);
}

function base64(element: Element, what: string): Buffer {
  const value = (element.textContent ?? "").replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) throw fail(`the signature's ${what} is not base64`);
  return Buffer.from(value, "base64");
}

/** The signer certificate the operator gives (PEM or DER), read once. */
export function readSignerCertificate(data: Uint8Array | string): X509Certificate {
  try {
    return new X509Certificate(typeof data === "string" ? data : Buffer.from(data));
  } catch {
    throw fail("the signer certificate is not an X.509 certificate (PEM or DER)");
  }
}

/** Does the document carry any ds:Signature (checked or not)? */
export function signatureElements(doc: Document): Element[] {
  return Array.from(doc.getElementsByTagNameNS(DS, "Signature"));
}

/**
 * Verifies the document's signature against `certificate`; throws, naming why, unless the one
 * enveloped ds:Signature covers the whole KeyContainer and was made by that certificate's key.
 * Returns the certificate's SHA-256 fingerprint.
 */
export function verifyPskcSignature(doc: Document, certificate: X509Certificate): string {
  const root = doc.documentElement;
  if (!root) throw fail("the document is empty");
  const signatures = signatureElements(doc);
  if (signatures.length === 0) throw fail("the document is not signed, but a signer certificate was given");
  if (signatures.length > 1) throw fail(`the document has ${signatures.length} ds:Signature elements: one is allowed`);
  const signature = signatures[0];
  if (signature.parentNode !== root) throw fail("the ds:Signature is not a child of the KeyContainer (RFC 6030 §7)");
  const signedInfo = one(signature, "SignedInfo", "Signature");
  const c14n = c14nMode(one(signedInfo, "CanonicalizationMethod", "SignedInfo").getAttribute("Algorithm"), "CanonicalizationMethod");
  if (dsChildren(signedInfo, "CanonicalizationMethod")[0].firstChild?.nodeType === 1)
    throw fail("the signature's CanonicalizationMethod has parameters: not supported");
  const methodUri = one(signedInfo, "SignatureMethod", "SignedInfo").getAttribute("Algorithm") ?? "";
  const method = SIGNATURES[methodUri];
  if (!method)
    throw fail(`the signature method ${JSON.stringify(methodUri)} is not supported (RSA or ECDSA with SHA-256, SHA-384 or SHA-512)`);
  const reference = one(signedInfo, "Reference", "SignedInfo");
  const uri = reference.getAttribute("URI");
  const rootId = root.getAttribute("Id");
  if (!(uri === "" || (uri !== null && rootId && uri === `#${rootId}`)))
    throw fail(`the signature's Reference URI ${JSON.stringify(uri)} does not cover the whole KeyContainer ("" or its Id)`);
  // Transforms: the enveloped signature, then at most one canonicalisation.
  const transforms = dsChildren(reference, "Transforms");
  const list = transforms.length === 1 ? dsChildren(transforms[0], "Transform") : [];
  if (transforms.length !== 1 || list.length < 1 || list.length > 2 || list[0].getAttribute("Algorithm") !== ENVELOPED)
    throw fail("the signature's Reference must have the enveloped-signature transform, then at most one canonicalisation");
  const referenceMode = list.length === 2 ? c14nMode(list[1].getAttribute("Algorithm"), "Reference transform") : "inclusive";
  const prefixList = list.length === 2 ? list[1].getElementsByTagNameNS(EXC_C14N, "InclusiveNamespaces") : [];
  if (prefixList.length > 0 && (prefixList[0].getAttribute("PrefixList") ?? "").trim() !== "")
    throw fail("the signature's exclusive canonicalisation names InclusiveNamespaces: not supported");
  const digestUri = one(reference, "DigestMethod", "Reference").getAttribute("Algorithm") ?? "";
  const digestHash = DIGESTS[digestUri];
  if (!digestHash) throw fail(`the digest ${JSON.stringify(digestUri)} is not supported (SHA-256, SHA-384 or SHA-512)`);
  const expectedDigest = base64(one(reference, "DigestValue", "Reference"), "DigestValue");
  const digest = createHash(digestHash)
    .update(canonicalize(root, referenceMode, signature, uri === ""), "utf8")
    .digest();
  if (!digest.equals(expectedDigest)) throw fail("the signature's digest does not match: the document was changed after it was signed");
  const key = certificate.publicKey;
  if ((method.type === "rsa") !== (key.asymmetricKeyType === "rsa") || (method.type === "ec") !== (key.asymmetricKeyType === "ec"))
    throw fail(`the document is signed with ${methodUri.split("#")[1]}, the signer certificate holds a ${key.asymmetricKeyType} key`);
  const value = base64(one(signature, "SignatureValue", "Signature"), "SignatureValue");
  const verifier = createVerify(method.hash).update(canonicalize(signedInfo, c14n), "utf8");
  const good = method.type === "ec" ? verifier.verify({ key, dsaEncoding: "ieee-p1363" }, value) : verifier.verify(key, value);
  if (!good) throw fail("the signature does not verify with the signer certificate: the document was changed, or another key signed it");
  return certificate.fingerprint256;
}

// ---- signing ----

/** A signing key (PEM) and, to put in KeyInfo, its certificate; checked to belong together. */
export interface PskcSigner {
  key: KeyObject;
  certificate?: X509Certificate;
}

/** The export's signer from a PEM private key (RSA, or EC on P-256/384/521) and, optionally, its certificate. */
export function readSigner(keyPem: Uint8Array | string, certificate?: Uint8Array | string): PskcSigner {
  let key: KeyObject;
  try {
    key = createPrivateKey(typeof keyPem === "string" ? keyPem : Buffer.from(keyPem));
  } catch {
    throw fail("the signing key is not a PEM private key (an encrypted key must be decrypted first)");
  }
  if (key.asymmetricKeyType !== "rsa" && !(key.asymmetricKeyType === "ec" && EC_HASH_BY_CURVE[key.asymmetricKeyDetails?.namedCurve ?? ""]))
    throw fail(`the signing key must be RSA or EC on P-256, P-384 or P-521 (it is ${key.asymmetricKeyType})`);
  const cert = certificate === undefined ? undefined : readSignerCertificate(certificate);
  if (cert && !cert.checkPrivateKey(key)) throw fail("the signing certificate does not belong to the signing key");
  return { key, ...(cert ? { certificate: cert } : {}) };
}

/** `xml`, a PSKC KeyContainer (writePskc's, or another's), with an enveloped signature added as its last child. */
export function signPskc(xml: string, signer: PskcSigner): string {
  const hash = signer.key.asymmetricKeyType === "ec" ? EC_HASH_BY_CURVE[signer.key.asymmetricKeyDetails!.namedCurve!] : "sha256";
  const methodUri = Object.entries(SIGNATURES).find(
    ([, m]) => m.hash === hash && m.type === (signer.key.asymmetricKeyType === "ec" ? "ec" : "rsa"),
  )![0];
  const certificate = signer.certificate ? signer.certificate.raw.toString("base64") : undefined;
  const block = [
    ` <ds:Signature xmlns:ds="${DS}">`,
    "  <ds:SignedInfo>",
    `   <ds:CanonicalizationMethod Algorithm="${EXC_C14N}"/>`,
    `   <ds:SignatureMethod Algorithm="${methodUri}"/>`,
    '   <ds:Reference URI="">',
    "    <ds:Transforms>",
    `     <ds:Transform Algorithm="${ENVELOPED}"/>`,
    `     <ds:Transform Algorithm="${EXC_C14N}"/>`,
    "    </ds:Transforms>",
    '    <ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>',
    "    <ds:DigestValue>DIGEST</ds:DigestValue>",
    "   </ds:Reference>",
    "  </ds:SignedInfo>",
    "  <ds:SignatureValue>SIGNATURE</ds:SignatureValue>",
    ...(certificate
      ? ["  <ds:KeyInfo>", `   <ds:X509Data><ds:X509Certificate>${certificate}</ds:X509Certificate></ds:X509Data>`, "  </ds:KeyInfo>"]
      : []),
    " </ds:Signature>",
  ].join("\n");
  const end = [...xml.matchAll(/<\/([A-Za-z_][\w.-]*:)?KeyContainer\s*>/g)].pop()?.index ?? -1;
  if (end < 0) throw fail("cannot sign: the document has no KeyContainer");
  let signed = `${xml.slice(0, end)}${block}\n${xml.slice(end)}`;
  const parse = (text: string) => new DOMParser().parseFromString(text, "application/xml");
  let doc = parse(signed);
  if (signatureElements(doc).length !== 1) throw fail("cannot sign: the document is already signed");
  if (signatureElements(doc)[0].parentNode !== doc.documentElement) throw fail("cannot sign: the KeyContainer's end was not found");
  const digest = createHash("sha256")
    .update(canonicalize(doc.documentElement!, "exclusive", signatureElements(doc)[0], true), "utf8")
    .digest("base64");
  signed = signed.replace("<ds:DigestValue>DIGEST</ds:DigestValue>", `<ds:DigestValue>${digest}</ds:DigestValue>`);
  doc = parse(signed);
  const signedInfo = dsChildren(signatureElements(doc)[0], "SignedInfo")[0];
  const signer_ = createSign(hash).update(canonicalize(signedInfo, "exclusive"), "utf8");
  const value =
    signer.key.asymmetricKeyType === "ec" ? signer_.sign({ key: signer.key, dsaEncoding: "ieee-p1363" }) : signer_.sign(signer.key);
  return signed.replace(
    "<ds:SignatureValue>SIGNATURE</ds:SignatureValue>",
    `<ds:SignatureValue>${value.toString("base64")}</ds:SignatureValue>`,
  );
}
