// Writes the verification service's OpenAPI document (GET /openapi.json of `bank serve`) to a file,
// from the built service (dist/), for `redocly lint` (npm run lint) and for generating the page's
// API types. No database is opened: the document comes from the routes' declarations alone.
//   node scripts/openapi.js [FILE]     default build/openapi.json
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const out = resolve(root, process.argv[2] ?? "build/openapi.json");
const { createService } = await import(resolve(root, "dist/host/bank/service.js"));
// The routes read the bank only when they answer: a placeholder is enough to build the document.
const app = await createService({ bank: {} });
await app.ready();
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(app.swagger(), null, 2)}\n`);
await app.close();
process.stdout.write(`openapi: ${out}\n`);
