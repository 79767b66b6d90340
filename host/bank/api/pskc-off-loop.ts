// POST /v1/export/pskc's document written off the event loop (issue 19, item 6): with a passphrase,
// the key is PBKDF2 (100,000 rounds), run by writePskc on a worker thread (api/pskc-worker.ts) so that
// /v1/health and every other request are answered meanwhile. A pre-shared key needs no derivation
// and is written here. The seeds cross to the worker as a copy, zeroed there once written.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { BankError, type BankErrorCode } from "../errors.js";
import { type PskcEncryption, type PskcTokenOut, writePskc } from "../pskc.js";

/** pskc-worker.js beside this file (built), or the built one in dist/ when this runs from the TypeScript sources (tests). */
function workerFile(): URL {
  const sibling = new URL("./pskc-worker.js", import.meta.url);
  if (existsSync(fileURLToPath(sibling))) return sibling;
  const built = new URL("../../../dist/host/bank/api/pskc-worker.js", import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  throw new Error("the PSKC worker (dist/host/bank/api/pskc-worker.js) is not built: run npm run build");
}

/** writePskc, with a passphrase's PBKDF2 on a worker thread. */
export function writePskcOffLoop(tokens: PskcTokenOut[], encryption: PskcEncryption): Promise<string> {
  if (encryption.kind !== "pbe") return Promise.resolve(writePskc(tokens, encryption));
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerFile(), { workerData: { tokens, encryption } });
    let settled = false;
    worker.once("message", (message: { pskc?: string; error?: { message: string; code?: string } }) => {
      settled = true;
      if (message.pskc !== undefined) resolve(message.pskc);
      else if (message.error?.code !== undefined) reject(new BankError(message.error.code as BankErrorCode, message.error.message));
      else reject(new Error(message.error?.message ?? "the PSKC worker failed"));
      void worker.terminate();
    });
    worker.once("error", (error) => {
      if (!settled) reject(error);
    });
    worker.once("exit", (code) => {
      if (!settled) reject(new Error(`the PSKC worker stopped (exit code ${code}) before writing the document`));
    });
  });
}
