// The PSKC writer on a worker thread (api/pskc-off-loop.ts): PBKDF2 over a passphrase (RFC 6030 §6.2)
// is 100,000 HMAC rounds, which on the service's event loop held every other request (issue 19, item 6).
import { parentPort, workerData } from "node:worker_threads";
import { type PskcEncryption, type PskcTokenOut, writePskc } from "../pskc.js";

const { tokens, encryption } = workerData as { tokens: PskcTokenOut[]; encryption: PskcEncryption };
try {
  parentPort!.postMessage({ pskc: writePskc(tokens, encryption) });
} catch (error) {
  parentPort!.postMessage({
    error: { name: (error as Error).name, message: (error as Error).message, code: (error as { code?: string }).code },
  });
} finally {
  for (const token of tokens) token.seed.fill(0);
}
