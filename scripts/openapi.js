// Writes the verification service's OpenAPI document (GET /openapi.json of `bank serve`) to a file,
// from the built service (dist/), for `redocly lint` (npm run lint) and for generating the page's
// API types. No database is opened: the document comes from the routes' declarations alone.
//   node scripts/openapi.js [FILE]               default build/openapi.json
//   node scripts/openapi.js [FILE] --types TS    also the page's API types (web/api-types.ts) from it,
//                                                 by openapi-typescript: `npm run openapi` rewrites them
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const typesAt = args.indexOf("--types");
const typesFile = typesAt >= 0 ? resolve(root, args[typesAt + 1]) : null;
if (typesAt >= 0) args.splice(typesAt, 2);
const out = resolve(root, args[0] ?? "build/openapi.json");
const { createService } = await import(resolve(root, "dist/host/bank/service.js"));
// The routes read the bank only when they answer: a placeholder is enough to build the document.
const app = await createService({ bank: {} });
await app.ready();
mkdirSync(dirname(out), { recursive: true });
const document = app.swagger();
writeFileSync(out, `${JSON.stringify(document, null, 2)}\n`);
await app.close();
process.stdout.write(`openapi: ${out}\n`);
if (typesFile) {
  const { default: openapiTS, astToString } = await import("openapi-typescript");
  const header =
    "// Generated from the verification service's OpenAPI document by `npm run openapi` (scripts/openapi.js,\n// openapi-typescript): do not edit. test/openapi.test.ts fails when it differs from the routes.\n";
  writeFileSync(typesFile, header + astToString(await openapiTS(structuredClone(document))));
  process.stdout.write(`openapi: ${typesFile}\n`);
}
