// The procedure from the command line: `otp-token demo` end to end, and the token side
// (`otp-token token activate`) against the bank's database (`otp-token bank ...`), as a holder would.
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { Board } from "../host/board/board.js";
import { DEMO_PROFILE, formKey, newForm, renderForm, type RegistrationForm } from "../host/cli/sim.js";
import { saveTokenFile } from "../host/token/flash-file.js";
import { SimToken } from "../host/token/sim-token.js";
import { makeTokenCommand } from "../host/cli/token.js";
import type { Terminal } from "../host/cli/prompt.js";
import type { Io, Lang } from "../host/usage.js";

const CLI = fileURLToPath(new URL("../dist/host/cli.js", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "otp-token-procedure-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const env = {
  ...process.env,
  LANG: "C.UTF-8",
  LC_ALL: "",
  LC_MESSAGES: "",
  OTP_BANK_MASTER_KEY: randomBytes(32).toString("hex"),
  OTP_TOKEN_HOME: join(work, "home"),
};
const run = (args: string[], input = "") => spawnSync(process.execPath, [CLI, ...args], { cwd: work, env, input, encoding: "utf8" });

describe("otp-token demo", () => {
  it("runs the whole procedure and ends at the login screen", { timeout: 120_000 }, () => {
    const result = run(["demo", "--quiet"]);
    expect(result.status).toBe(0);
    const out = result.stdout;
    for (const screen of ["Issue token", "One-time password confirmation", "Token registration", "log in", "welcome"]) {
      expect(out).toContain(screen);
    }
    expect(out).toMatch(/Service ID +\d{8}/);
    expect(out).toMatch(/User ID +[0-9A-Z]{16}/);
    // Consent, then send and register: a mistyped password first, which the token refuses at 登録
    // (CPace: the bank cannot tell) with the attempts left; then the right one.
    expect(out).toContain("[x] I agree");
    expect(out).toMatch(/Send: the activation request \(82 bytes\)/);
    expect(out).toContain("Register: Wrong activation password. 4 attempts left before this token issue is void. [wrong-password]");
    expect(out).toMatch(/Register: profile 0; its confirmation \(106 bytes\) goes to the bank/);
    expect(out).toContain("One-time password set-up is complete.");
    expect(out).toMatch(/Trying \d{6} again: .*already used.*\[replayed\]/);
    // The mail never carries the password.
    expect(out).not.toContain("Pass1234");
  });
});

describe("otp-token token activate against otp-token bank", () => {
  it("issue -> activate -> confirm -> verify, with the password only on standard input", () => {
    const db = join(work, "bank.sqlite");
    expect(run(["bank", "init", "--db", db]).status).toBe(0);
    const issued = run(
      ["bank", "issue", "--db", db, "--outbox", join(work, "outbox"), "--mail", "hanako@example.jp"],
      "hanako@example.jp\nab12\nab12\n",
    );
    expect(issued.status, issued.stderr).toBe(0);
    const serviceId = /Service ID:\s+(\d{8})/.exec(issued.stdout)![1];
    const userId = /User ID:\s+([0-9A-Z]{16})/.exec(issued.stdout)![1];

    // Without a terminal, --yes stands for the consent and the registration.
    const unattended = run(["token", "activate", "--db", db, "--service-id", serviceId, "--user-id", userId], "ab12\n");
    expect(unattended.status).toBe(2);
    expect(unattended.stderr).toMatch(/give --yes to agree \(同意する\) and register \(登録\)/);

    const wrong = run(["token", "activate", "--yes", "--db", db, "--service-id", serviceId, "--user-id", userId], "zz99\n");
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toBe(
      "otp-token token activate: Wrong activation password. 4 attempts left before this token issue is void. [wrong-password]\n",
    );
    // The refusal cancelled the activation on the token: it does not stay on its activating screen.
    const shown = run(["token", "show"]);
    expect(shown.stdout).toContain("not set up");

    const activated = run(["token", "activate", "--yes", "--db", db, "--service-id", serviceId, "--user-id", userId], "ab12\n");
    expect(activated.status, activated.stderr).toBe(0);
    // The protocol's bytes are not the customer's business: only with --verbose.
    expect(activated.stdout).toMatch(/Send: the token's activation request \(82 bytes\) went to the bank\n/);
    expect(activated.stdout).toMatch(/The bank's answer: accepted \(117 bytes\)\n/);
    expect(activated.stdout).not.toMatch(/[0-9a-f]{40}/);
    const code = /code (\d{6})/.exec(activated.stdout)![1];
    expect(activated.stdout).toContain(`otp-token bank confirm --user-id ${userId}`);

    // A code typed with full-width digits (a Japanese input method) is the code it stands for.
    const fullWidth = code.replace(/[0-9]/g, (digit) => String.fromCharCode(0xff10 + Number(digit)));
    const confirmed = run(["bank", "confirm", "--db", db, "--service-id", serviceId, "--user-id", userId, fullWidth]);
    expect(confirmed.status, confirmed.stderr).toBe(0);
    // The same code again is a replay.
    const replay = run(["bank", "verify", "--db", db, "--service-id", serviceId, "--user-id", userId, code]);
    expect(replay.status).toBe(1);
    expect(replay.stderr).toMatch(/already used/);
    // The token keeps its profile in its flash file.
    const info = execFileSync(process.execPath, [CLI, "token", "info"], { cwd: work, env, encoding: "utf8" });
    expect(info).toMatch(new RegExp(`profile 0: BANK \\(SHA1, 6 digits, 60 s, Service ID ${serviceId}\\)`));
  }, 120_000);

  it("refuses a password on the command line, and malformed identities, as usage errors", () => {
    expect(run(["token", "activate", "--password", "ab12"]).status).toBe(2);
    const bad = run(["token", "activate", "--service-id", "123", "--user-id", "X"], "ab12\n");
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--service-id must be 8 digits/);
  });
});

describe("the re-set-up on the same token, and choosing and erasing profiles (issue 18)", () => {
  const db = join(work, "resetup.sqlite");
  const flash = join(work, "resetup.flash");
  const token = (...args: string[]) => run(["token", ...args, "--flash", flash]);
  const issue = (...extra: string[]) => {
    const issued = run(
      ["bank", "issue", "--db", db, "--outbox", join(work, "outbox3"), "--mail", "saburo@example.jp", ...extra],
      "saburo@example.jp\nab34\nab34\n",
    );
    expect(issued.status, issued.stderr).toBe(0);
    return { serviceId: /Service ID:\s+(\d{8})/.exec(issued.stdout)![1], userId: /User ID:\s+([0-9A-Z]{16})/.exec(issued.stdout)![1] };
  };
  const activate = (ids: { serviceId: string; userId: string }, ...extra: string[]) =>
    run(
      ["token", "activate", "--yes", "--flash", flash, "--db", db, "--service-id", ids.serviceId, "--user-id", ids.userId, ...extra],
      "ab34\n",
    );
  const codeOf = (out: string) => /code (\d{6})/.exec(out)![1];

  it("issue A001, activate, confirm; re-set-up A002 on the same token: one profile for the Service ID, whose code the bank accepts", {
    timeout: 120_000,
  }, () => {
    expect(run(["bank", "init", "--db", db]).status).toBe(0);
    // The token also holds a demo profile (npm start's default answer), programmed first.
    const demo = new SimToken({ board: new Board({ startMs: Date.now() }) });
    demo.addProfile(DEMO_PROFILE);
    saveTokenFile(demo, flash);

    const first = issue();
    expect(first.userId).toMatch(/A001$/);
    const activated = activate(first);
    expect(activated.status, activated.stderr).toBe(0);
    expect(run(["bank", "confirm", "--db", db, "--user-id", first.userId, codeOf(activated.stdout)]).status).toBe(0);

    // The re-set-up: ...A002 for the same customer, activated on the same token, with --verbose.
    const second = issue("--user-id", first.userId);
    expect(second.userId).toMatch(/A002$/);
    const again = activate(second, "--verbose");
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/went to the bank\n {2}[0-9a-f]{164}\n/);
    expect(again.stdout).toMatch(/accepted \(117 bytes\)\n {2}[0-9a-f]{234}\n/);
    expect(again.stdout).toContain(`This token holds profile 1 for Service ID ${second.serviceId}: Register replaces it with the new one.`);
    expect(again.stdout).toContain("replace? hold button A within 10 s");
    expect(again.stdout).toContain("Held button A.");
    const info = token("info");
    expect(info.stdout.match(/^profile \d+: .*$/gm)).toEqual([
      "profile 0: DEMO (SHA1, 6 digits, 60 s)",
      `profile 1: BANK (SHA1, 6 digits, 60 s, Service ID ${second.serviceId})`,
    ]);

    // `token show` says which profile it shows; --label and --profile choose the bank's.
    const plain = token("show");
    expect(plain.stdout).toMatch(/^profile 0: DEMO\n/);
    expect(plain.stdout).toContain(
      `Other profiles (show one with --profile N or --label L):\n  profile 1: BANK (Service ID ${second.serviceId})`,
    );
    const shown = token("show", "--label", "bank");
    expect(shown.status, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`^profile 1: BANK \\(Service ID ${second.serviceId}\\)\n`));
    const code = codeOf(shown.stdout);
    expect(token("show", "--profile", "1").stdout).toMatch(
      new RegExp(`^profile 1: BANK \\(Service ID ${second.serviceId}\\)\n(.*\n)*BANK  code \\d{6}`),
    );
    // The code a press shows is the new issue's: the bank confirms it; the old User ID has no token now.
    const confirmed = run(["bank", "confirm", "--db", db, "--user-id", second.userId, code]);
    expect(confirmed.status, confirmed.stderr).toBe(0);
    const old = run(["bank", "verify", "--db", db, "--user-id", first.userId, code]);
    expect(old.status).toBe(1);

    expect(token("show", "--label", "NOPE").stderr).toMatch(/no profile labelled NOPE .*0 DEMO, 1 BANK \(\d{8}\).*\[no-profile\]/);
    expect(token("show", "--profile", "5").stderr).toMatch(/no profile 5/);
    expect(token("show", "--profile", "1", "--label", "BANK").status).toBe(2);
  });

  it("`token erase --profile N` deletes one profile, `token erase` all, each with the hold the token asks for", { timeout: 60_000 }, () => {
    // Without a terminal the hold needs --yes.
    const unattended = token("erase");
    expect(unattended.status).toBe(2);
    expect(unattended.stderr).toMatch(/give --yes to hold button A/);
    expect(token("erase", "--profile", "7", "--yes").stderr).toMatch(/no profile 7/);
    const one = token("erase", "--profile", "0", "--yes");
    expect(one.status, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/^profile 0: DEMO\n/);
    expect(one.stdout).toContain("DEMO: delete this profile? hold button A within 10 s");
    expect(one.stdout).toContain("Deleted profile 0 (DEMO); 1 profile left.");
    expect(token("info").stdout.match(/^profile \d+: \w+/gm)).toEqual(["profile 0: BANK"]);
    const all = token("erase", "--yes");
    expect(all.status, all.stderr).toBe(0);
    expect(all.stdout).toContain("erase? hold button A within 10 s");
    expect(token("info").stdout).not.toMatch(/^profile/m);
    expect(token("show").stdout).toContain("not set up");
  });
});

describe("the simulator's registration form", () => {
  it("takes Service ID, User ID (upper-cased, full-width folded), a masked password, the consent; then 送信 and 登録", () => {
    const form: RegistrationForm = newForm();
    const type = (text: string) => {
      let result: ReturnType<typeof formKey>;
      for (const key of text) result = formKey(form, key) ?? result;
      return result;
    };
    type("１０２１２０８３\r");
    type("2083l0000193a001\r");
    type("abX\u007fc1\r");
    expect(renderForm(form)).toContain("****");
    expect(renderForm(form)).not.toContain("abc1");
    // Enter without the consent does not send.
    expect(type("\r")).toBe("consent-missing");
    expect(renderForm(form)).toContain("[ ] I agree");
    expect(type("y")).toBeUndefined();
    expect(renderForm(form)).toContain("[x] I agree");
    expect(renderForm(form, "ja")).toContain("[x] 同意する");
    expect(type("\r")).toBe("send");
    expect(form).toMatchObject({ serviceId: "10212083", userId: "2083L0000193A001", password: "abc1", consent: true });
    form.stage = "sent";
    expect(renderForm(form, "ja")).toContain("[Enter] 登録");
    expect(type("\r")).toBe("register");
    expect(formKey({ ...form, stage: "sent" }, "n")).toBe("cancel");
    expect(formKey(newForm(), "\u001b")).toBe("cancel");
  });
});

/** `otp-token token activate` at a terminal: the answers and the password come from the test. */
async function activateAtTerminal(args: string[], answers: string[], lang: Lang = "en") {
  let out = "";
  let err = "";
  const asked: string[] = [];
  const terminal: Terminal = {
    isTTY: true,
    readAll: () => "",
    readSecret: async (prompt) => {
      asked.push(prompt);
      return answers.shift() ?? "";
    },
    ask: async (prompt) => {
      asked.push(prompt);
      return answers.shift() ?? "";
    },
  };
  const io: Io = {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    now: () => Math.floor(Date.now() / 1000),
    lang,
  };
  const status = await makeTokenCommand(terminal)(["activate", ...args], io);
  return { status, out, err, asked };
}

describe("otp-token token activate at a terminal: 同意する, 送信, then 登録", () => {
  const db = join(work, "terminal.sqlite");
  const flash = join(work, "terminal.flash");
  const issue = (password: string) => {
    if (!existsSync(db)) expect(run(["bank", "init", "--db", db]).status).toBe(0);
    const issued = run(
      ["bank", "issue", "--db", db, "--outbox", join(work, "outbox2"), "--mail", "jiro@example.jp"],
      `jiro@example.jp\n${password}\n${password}\n`,
    );
    expect(issued.status, issued.stderr).toBe(0);
    return [
      "--db",
      db,
      "--flash",
      flash,
      "--service-id",
      /Service ID:\s+(\d{8})/.exec(issued.stdout)![1],
      "--user-id",
      /User ID:\s+([0-9A-Z]{16})/.exec(issued.stdout)![1],
    ];
  };
  const oldEnv = process.env.OTP_BANK_MASTER_KEY;
  process.env.OTP_BANK_MASTER_KEY = env.OTP_BANK_MASTER_KEY;
  afterAll(() => {
    process.env.OTP_BANK_MASTER_KEY = oldEnv;
  });

  it("asks for the consent before sending and for 登録 after the bank's answer, in the manual's words", { timeout: 60_000 }, async () => {
    const ids = issue("Kz81");
    // No consent: nothing is sent.
    const declined = await activateAtTerminal(ids, ["Kz81", "n"], "ja");
    expect(declined.status).toBe(1);
    expect(declined.asked).toEqual(["  利用開始パスワード     ", "[ ] 同意する? [y/N] "]);
    expect(declined.err).toMatch(/^otp-token token activate: 「同意する」がないため、送信しませんでした。 \[not-agreed\]\n$/);
    expect(declined.out).not.toContain("送信:");
    // Sent, answered, then not registered: the token forgets the activation.
    const unregistered = await activateAtTerminal(ids, ["Kz81", "y", "n"], "ja");
    expect(unregistered.status).toBe(1);
    expect(unregistered.out).toMatch(/送信: トークンの登録要求（82バイト）を銀行へ送信しました\n/);
    expect(unregistered.out).toMatch(/銀行の応答: 受け付けました（117バイト）/);
    expect(unregistered.asked[2]).toBe("銀行から応答がありました。「登録」を押してください。 登録? [y/N] ");
    expect(unregistered.err).toMatch(/\[not-registered\]/);
    // The same issue, activated again and registered (the bank answers a new request).
    const registered = await activateAtTerminal(ids, ["Kz81", "y", "y"], "ja");
    expect(registered.err).toBe("");
    expect(registered.status).toBe(0);
    expect(registered.out).toMatch(/登録: プロファイル 0\n/);
    expect(registered.out).toContain("ワンタイムパスワード認証確認");
    expect(registered.out).toMatch(/BANK {2}ワンタイムパスワード \d{6} {2}あと \d+ 秒/);
  });

  it("after five wrong 利用開始パスワード says, in Japanese too, that the issue is void and a new トークン発行 is needed", {
    timeout: 60_000,
  }, async () => {
    const ids = issue("Qw12");
    const left: string[] = [];
    // With CPace the bank cannot tell a wrong password at 送信: the token refuses its answer at 登録,
    // and the words carry the attempts the bank said were left.
    for (let attempt = 1; attempt <= 4; attempt++) {
      const wrong = await activateAtTerminal(ids, ["Zz99", "y", "y"], "ja");
      expect(wrong.status).toBe(1);
      expect(wrong.out).toMatch(/銀行の応答: 受け付けました/);
      left.push(wrong.err);
    }
    expect(left.map((e) => /あと (\d) 回/.exec(e)?.[1])).toEqual(["4", "3", "2", "1"]);
    expect(left[0]).toBe(
      "otp-token token activate: 利用開始パスワードが違います。あと 4 回間違えると、このトークン発行は無効になります。 [wrong-password]\n",
    );
    // The fifth: the issue is void; and the token, which counted its own five refusals, must be erased.
    const fifth = await activateAtTerminal(ids, ["Zz99", "y", "y"], "en");
    expect(fifth.err).toBe(
      'otp-token token activate: Wrong activation password. This token issue is now void: issue a new token ("Issue token") and start again. ' +
        "The token now refuses to register after too many failures: erase the token, then start again. " +
        "With a real token, ask your branch or the bank's help desk. [wrong-password]\n",
    );
    const ja = await activateAtTerminal(ids, ["Zz99", "y", "y"], "ja");
    expect(ja.err).toContain(
      "トークンは登録の失敗が多すぎたため、登録できなくなりました。トークンを消去してからやり直してください。実際のトークンの場合は、お取引店またはヘルプデスクにお問い合わせください。",
    );
    // `token erase` exists: held (--yes), the token registers again (its own count is reset).
    const erased = run(["token", "erase", "--yes", "--flash", flash]);
    expect(erased.status, erased.stderr).toBe(0);
    expect(erased.stdout).toContain("The token is erased");
    const fresh = issue("Qw34");
    const again = await activateAtTerminal(fresh, ["Qw34", "y", "y"], "en");
    expect(again.err).toBe("");
    expect(again.status).toBe(0);
    // Even the right password, on another token, is refused now by the bank, with the same plain words.
    const other = ids.map((arg) => (arg === flash ? join(work, "terminal-2.flash") : arg));
    const after = await activateAtTerminal(other, ["Qw12", "y", "y"], "ja");
    expect(after.err).toBe(
      "otp-token token activate: このトークン発行は無効になりました。もう一度「トークン発行」からやり直してください。 [issue-void]\n",
    );
  });
});

describe("one line, never a stack trace", () => {
  it.each([
    [["token", "info", "--flash", work], /^otp-token token: .* is not a file: .*\[flash-file\]\n$/],
    [
      [
        "token",
        "activate",
        "--yes",
        "--db",
        join(work, "no", "such", "folder", "bank.sqlite"),
        "--service-id",
        "12345678",
        "--user-id",
        "ABCDABCDABCDABCD",
      ],
      /^otp-token token activate: .*folder .* does not exist.* \[store\]\n$/i,
    ],
    [["sim", "--speed", "x"], /^otp-token sim: --speed must be .* \[usage\]\nRun 'otp-token sim --help' for usage.\n$/],
  ])("%j", { timeout: 30_000 }, (args, expected) => {
    const result = run(args as string[], "ab12\n");
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(expected);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
