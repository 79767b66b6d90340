// The XML canonicalisation behind PSKC signatures (host/bank/pskc-sign.ts) against libxmlsec1's, on
// documents with what canonicalisation has to get right: attributes out of order and in other
// namespaces, characters to escape in text and attributes (tab, newline, carriage return, quotes),
// CDATA, comments and processing instructions inside and around the root, a namespace declared and
// not used, a default namespace declared and undeclared, the signature's own namespace declared on
// it or on the root. xmlsec1 signs each with every SignedInfo canonicalisation we accept, every
// Reference transform list, URI="" and URI="#Id"; we verify each. And xmlsec1 verifies ours.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DOMParser } from "@xmldom/xmldom";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readSigner, readSignerCertificate, signPskc, verifyPskcSignature } from "../host/bank/pskc-sign.js";

const hasXmlsec = spawnSync("xmlsec1", ["--version"]).status === 0;
const hasOpenssl = spawnSync("openssl", ["version"]).status === 0;
if (process.env.CI === "true" && !(hasXmlsec && hasOpenssl)) throw new Error("CI: xmlsec1 and openssl are needed (.ci/run installs them)");

const PSKC = "urn:ietf:params:xml:ns:keyprov:pskc";
const C14N = [
  "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
  "http://www.w3.org/2001/10/xml-exc-c14n#",
  "http://www.w3.org/2006/12/xml-c14n11",
];

const DOCUMENTS: Record<string, string> = {
  prefixed: `<?xml version="1.0" encoding="UTF-8"?>
<?before the root?>
<!-- a comment before the root -->
<pskc:KeyContainer xmlns:pskc="${PSKC}" xmlns:unused="urn:unused" Version="1.0" Id="KC1">
 <pskc:KeyPackage xmlns:x="urn:x" z="3" x:b="2" a="1&amp;&lt;&gt;&quot;&#9;&#10;&#13;'">
  <pskc:DeviceInfo><pskc:Manufacturer>A &amp; B &lt;C&gt; &#13;"'</pskc:Manufacturer><!-- c --><?pi data?></pskc:DeviceInfo>
  <inner xmlns="urn:default"><deep xmlns=""><x:e/></deep><![CDATA[<cdata> & ]]></inner>
  <pskc:Key Id="k" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:totp"/>
 </pskc:KeyPackage>
</pskc:KeyContainer>
<?after the root?>
`,
  "default namespace, ds on the root": `<KeyContainer xmlns="${PSKC}" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Version="1.0" Id="KC1">
 <KeyPackage><DeviceInfo><SerialNo>S-1</SerialNo></DeviceInfo><x:y xmlns:x="urn:x" x:a="&#x20AC;"/></KeyPackage>
</KeyContainer>`,
};

function template(document: string, c14n: string, uri: string, transform: string | undefined): string {
  const ds = document.includes('xmlns:ds="') ? "ds:" : "";
  const declare = ds ? "" : ' xmlns="http://www.w3.org/2000/09/xmldsig#"';
  const signature = `<${ds}Signature${declare}>
 <${ds}SignedInfo>
  <${ds}CanonicalizationMethod Algorithm="${c14n}"/>
  <${ds}SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>
  <${ds}Reference URI="${uri}">
   <${ds}Transforms><${ds}Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>${
     transform ? `<${ds}Transform Algorithm="${transform}"/>` : ""
   }</${ds}Transforms>
   <${ds}DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
   <${ds}DigestValue/>
  </${ds}Reference>
 </${ds}SignedInfo>
 <${ds}SignatureValue/>
</${ds}Signature>`;
  return document.replace(/(<\/(?:pskc:)?KeyContainer>)/, `${signature}\n$1`);
}

let dir: string;
let key: string;
let cert: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "otp-pskc-c14n-"));
  key = join(dir, "sign.key");
  cert = join(dir, "sign.crt");
  if (hasOpenssl)
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-subj", "/CN=c14n", "-days", "2"],
      {
        stdio: "ignore",
      },
    );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const parse = (xml: string) => new DOMParser().parseFromString(xml, "application/xml");

describe.skipIf(!hasXmlsec || !hasOpenssl)("PSKC signatures: our canonicalisation is libxmlsec1's", () => {
  it.each(Object.keys(DOCUMENTS))("%s: every SignedInfo C14N x Reference transforms x URI signed by xmlsec1 verifies here", (name) => {
    const certificate = readSignerCertificate(readFileSync(cert));
    let checked = 0;
    for (const c14n of C14N)
      for (const transform of [undefined, ...C14N])
        for (const uri of ["", "#KC1"]) {
          const path = join(dir, "template.xml");
          writeFileSync(path, template(DOCUMENTS[name], c14n, uri, transform));
          const signed = execFileSync("xmlsec1", ["--sign", "--privkey-pem", key, "--id-attr:Id", "KeyContainer", path], {
            encoding: "utf8",
          });
          expect(verifyPskcSignature(parse(signed), certificate)).toBe(certificate.fingerprint256);
          // And the same document with one character of its content changed is refused.
          const changed = signed.replace(/(Version=")1\.0"/, '$11.1"');
          expect(changed).not.toBe(signed);
          expect(() => verifyPskcSignature(parse(changed), certificate)).toThrow(/digest does not match/);
          checked++;
        }
    expect(checked).toBe(24);
  });

  it.each(Object.keys(DOCUMENTS))("%s: our signature verifies in xmlsec1", (name) => {
    const path = join(dir, "ours.xml");
    writeFileSync(path, signPskc(DOCUMENTS[name], readSigner(readFileSync(key))));
    const verified = spawnSync("xmlsec1", ["--verify", "--pubkey-cert-pem", cert, path], { encoding: "utf8" });
    expect(verified.stderr).toMatch(/^OK/m);
    expect(verified.status).toBe(0);
  });
});
