// The procedure from the command line: `otp-token demo` end to end, and the token side
// (`otp-token token activate`) against the bank's database (`otp-token bank ...`), as a holder would.
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { formKey, renderForm, type RegistrationForm } from "../host/cli/sim.js";

const CLI = fileURLToPath(new URL("../dist/host/cli.js", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "otp-token-procedure-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const env = { ...process.env, OTP_BANK_MASTER_KEY: randomBytes(32).toString("hex"), OTP_TOKEN_HOME: join(work, "home") };
const run = (args: string[], input = "") => spawnSync(process.execPath, [CLI, ...args], { cwd: work, env, input, encoding: "utf8" });

describe("otp-token demo", () => {
  it("runs the whole procedure and ends at the login screen", () => {
    const result = run(["demo", "--quiet"]);
    expect(result.status).toBe(0);
    const out = result.stdout;
    for (const screen of ["token issue", "authentication confirm", "Token set-up: registration", "log in", "welcome"]) {
      expect(out).toContain(screen);
    }
    expect(out).toMatch(/Service ID   \d{8}/);
    expect(out).toMatch(/User ID      [0-9A-Z]{16}/);
    expect(out).toContain("One-time password set-up is complete.");
    expect(out).toMatch(/Trying \d{6} again: .*already used/);
    // The mail never carries the password.
    expect(out).not.toContain("Pass1234");
  });
});

describe("otp-token token activate against otp-token bank", () => {
  it("issue -> activate -> confirm -> verify, with the password only on standard input", () => {
    const db = join(work, "bank.sqlite");
    const issued = run(["bank", "issue", "--db", db, "--outbox", join(work, "outbox"), "--mail", "hanako@example.jp"], "ab12\nab12\n");
    expect(issued.status, issued.stderr).toBe(0);
    const serviceId = /Service ID:\s+(\d{8})/.exec(issued.stdout)![1];
    const userId = /User ID:\s+([0-9A-Z]{16})/.exec(issued.stdout)![1];

    const wrong = run(["token", "activate", "--db", db, "--service-id", serviceId, "--user-id", userId], "zz99\n");
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/activation password/i);

    const activated = run(["token", "activate", "--db", db, "--service-id", serviceId, "--user-id", userId], "ab12\n");
    expect(activated.status, activated.stderr).toBe(0);
    const code = /code (\d{6})/.exec(activated.stdout)![1];
    expect(activated.stdout).toContain(`otp-token bank confirm --service-id ${serviceId} --user-id ${userId}`);

    const confirmed = run(["bank", "confirm", "--db", db, "--service-id", serviceId, "--user-id", userId, code]);
    expect(confirmed.status, confirmed.stderr).toBe(0);
    // The same code again is a replay.
    const replay = run(["bank", "verify", "--db", db, "--service-id", serviceId, "--user-id", userId, code]);
    expect(replay.status).toBe(1);
    expect(replay.stderr).toMatch(/already used/);
    // The token keeps its profile in its flash file.
    const info = execFileSync(process.execPath, [CLI, "token", "info"], { cwd: work, env, encoding: "utf8" });
    expect(info).toMatch(/profile 0: BANK \(SHA1, 6 digits, 60 s\)/);
  });

  it("refuses a password on the command line, and malformed identities, as usage errors", () => {
    expect(run(["token", "activate", "--password", "ab12"]).status).toBe(2);
    const bad = run(["token", "activate", "--service-id", "123", "--user-id", "X"], "ab12\n");
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--service-id must be 8 digits/);
  });
});

describe("the simulator's registration form", () => {
  it("takes Service ID, User ID (upper-cased), a masked password and the consent", () => {
    const form: RegistrationForm = { field: 0, serviceId: "", userId: "", password: "", consent: false };
    const type = (text: string) => {
      let result;
      for (const key of text) result = formKey(form, key) ?? result;
      return result;
    };
    type("10212083\r");
    type("2083l0000193a001\r");
    type("abX\u007fc1\r");
    expect(renderForm(form)).toContain("****");
    expect(renderForm(form)).not.toContain("abc1");
    expect(type("y")).toBe("submit");
    expect(form).toMatchObject({ serviceId: "10212083", userId: "2083L0000193A001", password: "abc1", consent: true });
    const refused: RegistrationForm = { field: 3, serviceId: "", userId: "", password: "", consent: false };
    expect(formKey(refused, "n")).toBe("cancel");
    expect(formKey({ ...refused, field: 0 }, "\u001b")).toBe("cancel");
  });
});
