// vitest's global setup: brings build/ and dist/ up to date (only the stale steps of
// scripts/build.js) before the first run and, in watch mode, before every rerun.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";

const BUILD = fileURLToPath(new URL("../scripts/build.js", import.meta.url));

function buildStale(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BUILD, "--if-stale"], { stdio: "inherit" });
    child.on("error", reject);
    child.on("exit", (status) => (status === 0 ? resolve() : reject(new Error("the build failed (see above): fix it and save again"))));
  });
}

export default async function setup(project: TestProject): Promise<void> {
  await buildStale();
  project.onTestsRerun(buildStale);
}
