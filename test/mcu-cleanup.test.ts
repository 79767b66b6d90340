// The emulator never outlives its host: a host that is interrupted (SIGINT), terminated, or killed
// outright (SIGKILL, no handler runs) leaves no QEMU behind.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { MCU_SKIP, MCU_TIMEOUT_MS } from "./mcu-helpers.js";

const MCU_TOKEN = fileURLToPath(new URL("../dist/host/mcu/mcu-token.js", import.meta.url));

/** A host process that boots a token, prints QEMU's process group, and waits. */
function startHost(): Promise<{ child: ReturnType<typeof spawn>; group: number }> {
  const script = `import { McuToken } from ${JSON.stringify(MCU_TOKEN)};
    const token = new McuToken();
    console.log(token.qemuProcessGroup);
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk) => {
      out += chunk;
      if (out.includes("\n")) resolve({ child, group: Number(out.trim()) });
    });
    child.on("exit", (code) => reject(new Error(`the host exited (${code}) before booting the token`)));
  });
}

function groupAlive(group: number): boolean {
  try {
    process.kill(-group, 0);
    return true;
  } catch {
    return false;
  }
}

async function goneWithin(group: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!groupAlive(group)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !groupAlive(group);
}

describe.skipIf(MCU_SKIP !== undefined)("QEMU's lifetime", () => {
  it.each(["SIGINT", "SIGTERM", "SIGKILL"] as const)(
    "ends with its host on %s",
    async (signal) => {
      const { child, group } = await startHost();
      expect(group).toBeGreaterThan(1);
      expect(groupAlive(group)).toBe(true);
      const exited = new Promise((resolve) => child.on("exit", resolve));
      child.kill(signal);
      await exited;
      expect(await goneWithin(group, 10_000)).toBe(true);
    },
    MCU_TIMEOUT_MS,
  );
});
