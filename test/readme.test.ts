// README.md as a newcomer follows it (issue 18, item 7 and "Done when"): the master-key block and the
// hand-run procedure of "The re-set-up procedure", with the commands as written, in a fresh folder.
// `npx otp-token` is this clone's built command; a placeholder (TICKET, the User ID, CODE) is replaced
// by what the command before it printed, as the README tells the reader to; the prompts' answers come
// on standard input, and `token activate` gets the --yes the README names for scripts.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { commandWorks, requireTool } from "./helpers.js";

const CLI = fileURLToPath(new URL("../dist/host/cli.js", import.meta.url));
const README = readFileSync(new URL("../README.md", import.meta.url), "utf8");

/** The ```sh blocks of the section under `heading`, in order. */
function shBlocks(heading: string): string[] {
  const start = README.indexOf(`\n${heading}\n`);
  expect(start, heading).toBeGreaterThan(0);
  const rest = README.slice(start + heading.length + 2);
  const section = rest.slice(0, rest.search(/\n## /) === -1 ? rest.length : rest.search(/\n## /));
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
}

/** The commands of a block: comment lines dropped, each command's trailing comment cut. */
const commands = (block: string) =>
  block
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.trim().startsWith("#"))
    .map((line) => line.replace(/\s+#\s.*$/, "").trim());

const HAS_OPENSSL = requireTool("openssl", commandWorks("openssl", ["version"]), "the README's master-key step needs openssl");

describe.runIf(HAS_OPENSSL)("README: the re-set-up procedure, by hand, as written", () => {
  it("master key, bank init, customer, ① login, ② issue, activate, ⑦ confirm, ⑧ login with the token's code", {
    timeout: 180_000,
  }, async () => {
    const work = mkdtempSync(join(tmpdir(), "otp-token-readme-"));
    try {
      const [setup, procedure] = shBlocks("## The re-set-up procedure");
      const env: NodeJS.ProcessEnv = { ...process.env, LANG: "C.UTF-8", LC_ALL: "", LC_MESSAGES: "", OTP_TOKEN_HOME: join(work, "home") };
      delete env.OTP_BANK_MASTER_KEY;
      // The master-key block in one shell, as typed: `npx otp-token` is the built command.
      const prelude = `npx() { [ "$1" = otp-token ] && shift; "${process.execPath}" "${CLI}" "$@"; }\n`;
      const first = spawnSync("bash", ["-e", "-c", prelude + setup], { cwd: work, env, encoding: "utf8" });
      expect(first.status, first.stderr).toBe(0);
      expect(first.stdout).toContain("Service ID:   10212083");
      env.OTP_BANK_MASTER_KEY = readFileSync(join(work, ".otp-token", "bank-master.key"), "utf8").trim();

      const printed: { ticket?: string; userId?: string; code?: string } = {};
      const answers: [RegExp, string][] = [
        [/bank customer create/, "Login-pass-42\nLogin-pass-42\n"],
        [/bank login/, "Login-pass-42\n"],
        [/bank issue/, "taro@example.jp\nab12\nab12\n"],
        [/token activate/, "ab12\n"],
      ];
      const outputs: string[] = [];
      const steps = commands(procedure);
      expect(steps.map((step) => step.split(" ").slice(2, 4).join(" "))).toEqual([
        "bank customer",
        "bank login",
        "bank issue",
        "token activate",
        "bank confirm",
        "token show",
        "bank login",
      ]);
      for (const step of steps) {
        let line = step
          .replace("TICKET", printed.ticket ?? "TICKET")
          .replace(/2083L0000001A001/g, printed.userId ?? "2083L0000001A001")
          .replace(/ CODE\b/, ` ${printed.code ?? "CODE"}`);
        if (line.includes("token activate")) line += " --yes";
        // ⑧ "once the countdown has passed 0": the next 60-second step.
        if (line.includes("token show")) {
          const step = Math.floor(Date.now() / 60_000);
          while (Math.floor(Date.now() / 60_000) === step) await new Promise((resolve) => setTimeout(resolve, 250));
        }
        const args = line.split(/\s+/).slice(2);
        const input = answers.find(([pattern]) => pattern.test(line))?.[1] ?? "";
        const run = spawnSync(process.execPath, [CLI, ...args], { cwd: work, env, input, encoding: "utf8" });
        expect(run.status, `${line}\n${run.stdout}${run.stderr}`).toBe(0);
        outputs.push(run.stdout);
        printed.ticket = /Login ticket:\s+(\S+)/.exec(run.stdout)?.[1] ?? printed.ticket;
        printed.userId = /User ID:\s+([0-9A-Z]{16})/.exec(run.stdout)?.[1] ?? printed.userId;
        printed.code = /code (\d{6})/.exec(run.stdout)?.[1] ?? printed.code;
      }
      // The first login had no token; the last one logged in with the token's code, at the issued User ID.
      expect(outputs[1]).toMatch(/User ID:\s+-/);
      expect(outputs[6]).toContain("logged in");
      expect(outputs[6]).toContain(`User ID:         ${printed.userId}`);
      expect(printed.userId).toBe("2083L0000001A001");
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
