// The suite's settings. Timeouts are set for a busy 2-core CI box (several suites at once, load ~8),
// where a test runs several times slower than alone: a test that passes alone must not time out
// there. Tests known to be long (property sweeps, child processes, browsers) carry their own,
// longer timeout beside the test.
//
// Builds: test/global-setup.ts rebuilds whatever in build/ and dist/ is older than its sources
// before the first run and before every watch rerun (`npm run test:watch`), so no test runs a stale
// wasm or a stale dist/.
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { configDefaults, defineConfig } from "vitest/config";

const ROOT = fileURLToPath(new URL(".", import.meta.url));

/** Test files that run compiled code (dist/: the CLI in a child process, the bank in workers). */
const testsOfDist = readdirSync(`${ROOT}test`)
  .filter((file) => file.endsWith(".test.ts") && readFileSync(`${ROOT}test/${file}`, "utf8").includes("dist/"))
  .map((file) => `test/${file}`);

export default defineConfig({
  // The build's outputs are not sources: the global setup writes them before a run.
  server: { watch: { ignored: ["**/build/**", "**/dist/**", "**/test-output/**"] } },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    globalSetup: ["test/global-setup.ts"],
    // Everything runs the wasm: a change to the firmware or its build reruns the whole suite.
    forceRerunTriggers: [
      ...configDefaults.forceRerunTriggers,
      ...["assembly/**", "asconfig.json", "scripts/build*.js", "web/**"].map((glob) => ROOT + glob),
    ],
    // A host change reruns, besides the tests importing it, those that run it compiled.
    watchTriggerPatterns: [
      { pattern: new RegExp(`^${ROOT.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}host/.+\\.ts$`), testsToRun: () => testsOfDist },
    ],
  },
});
