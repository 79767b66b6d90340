// otp-token sim (npm start): the token's real framebuffer in the terminal, driven by the keyboard,
// on real time (or accelerated), with its flash persisted in a file so the token survives restarts.
// Without a terminal it prints a short scripted run and exits 0.
import { resolve } from "node:path";
import { createInterface } from "node:readline/promises";
import { DEFAULT_BOARD_START_MS } from "../board/board.js";
import { defaultFlashPath, FlashFileError, openTokenFile, saveTokenFile } from "../token/flash-file.js";
import { Bank } from "../bank/bank.js";
import { MasterKey } from "../bank/crypto.js";
import { BankStore } from "../bank/store.js";
import { SimToken, type Screen } from "../token/sim-token.js";
import { DEFAULT_DB } from "./bank.js";
import { type Io, parse, UsageError } from "./usage.js";

export const SIM_HELP = `Usage: otp-token sim [options]

The token simulator: the firmware's own 128x32 display drawn in the terminal.

Keys:  space  press button A (wakes the token; while a code shows, next profile)
       h      hold button A for 2.5 s (device info; confirms an erase)
       f      fast-forward 30 s
       a      register the token with the bank (Service ID, User ID, activation
              password, consent): the activation of the re-set-up procedure
       q      quit (the flash is saved)

Options:
  --flash PATH   the token's flash image (default: $OTP_TOKEN_HOME/token.flash,
                 $OTP_TOKEN_HOME defaulting to ~/.otp-token); created if missing
  --speed N      run the token's clock N times faster than real time (1-3600, default 1)
  --db PATH      the bank database registration talks to (default ./bank.sqlite, as
                 otp-token bank); its master key from --master-key-file PATH or
                 $OTP_BANK_MASTER_KEY
  -h, --help     this help

Without a terminal (stdout not a TTY) it prints a scripted run and exits.
`;

/** The demo profile: RFC 6238's published SHA-1 test seed. Public, for demonstration only. */
export const DEMO_PROFILE = { seed: new TextEncoder().encode("12345678901234567890"), label: "DEMO", digits: 6, period: 60 };

export function describeScreen(screen: Screen): string {
  if (screen.mode === "otp") return `${screen.label}  code ${screen.code}  ${screen.secondsLeft} s left  battery ${screen.battery}/4`;
  return `${screen.mode}${screen.errorCode ? ` (error E${screen.errorCode})` : ""}`;
}

export async function simCommand(args: string[], io: Io): Promise<number> {
  const { values } = parse(args, {
    flash: { type: "string" },
    speed: { type: "string" },
    db: { type: "string" },
    "master-key-file": { type: "string" },
    help: { type: "boolean", short: "h" },
  }, false);
  if (values.help) {
    io.out(SIM_HELP);
    return 0;
  }
  const speedText = values.speed ?? "1";
  if (!/^\d+$/.test(speedText) || Number(speedText) < 1 || Number(speedText) > 3600) {
    throw new UsageError(`--speed must be a whole number from 1 to 3600, got ${JSON.stringify(speedText)}`);
  }
  if (!process.stdout.isTTY || !process.stdin.isTTY) return scriptedRun(io);
  return interactive(resolve(values.flash ?? defaultFlashPath()), Number(speedText), io, {
    db: values.db ?? DEFAULT_DB,
    masterKeyFile: values["master-key-file"],
  });
}

/** The non-TTY run: program the demo profile, press, show the screen either side of a step boundary. */
export function scriptedRun(io: Io): number {
  // A fixed virtual start 50 s into a step, so the run is the same every time.
  const token = new SimToken({ boardConfig: { startMs: DEFAULT_BOARD_START_MS + 50_000 } });
  const show = (title: string) => {
    io.out(`\n${title}\n${token.render()}\n${describeScreen(token.screen())}\n`);
  };
  io.out("otp-token simulator (scripted run: stdout is not a terminal)\n");
  io.out(`Token serial ${token.info().serial}, firmware ${token.info().firmware}; clock ${new Date(Number(token.rtcSeconds()) * 1000).toISOString()}\n`);
  token.addProfile(DEMO_PROFILE);
  io.out("Programmed the demo profile (RFC 6238 test seed, TOTP SHA-1, 6 digits, 60 s).\n");
  show("Asleep, panel off:");
  token.press();
  show("After pressing button A:");
  const left = token.screen().secondsLeft ?? 0;
  token.advance((left - 1) * 1000);
  show("One second before the step boundary:");
  token.advance(1000);
  show("At the step boundary (new code, countdown back to 60):");
  io.out("\nRun it in a terminal for the interactive simulator (keys: space, h, f, q).\n");
  return 0;
}

function loadToken(flashPath: string, io: Io): SimToken {
  let opened;
  try {
    opened = openTokenFile(flashPath);
  } catch (error) {
    if (error instanceof FlashFileError) throw new UsageError(error.message);
    throw error;
  }
  io.out(`Flash image: ${flashPath}${opened.created ? " (new token)" : ""}\n`);
  return opened.token;
}

const saveFlash = (token: SimToken, flashPath: string) => saveTokenFile(token, flashPath);

/** The token's registration form (procedure step 4): Service ID, User ID, activation password, consent. */
export interface RegistrationForm {
  field: number;
  serviceId: string;
  userId: string;
  password: string;
  consent: boolean;
}

const FORM_FIELDS = ["Service ID (8 digits)", "User ID (16 characters)", "Activation password", "I agree to the terms of use (y/n)"];

export function renderForm(form: RegistrationForm): string {
  const values = [form.serviceId, form.userId, "*".repeat(form.password.length), form.consent ? "yes" : ""];
  const lines = FORM_FIELDS.map((label, i) => `${i === form.field ? ">" : " "} ${label.padEnd(36)} [ ${values[i].padEnd(16)} ]`);
  return ["Token set-up: registration", ...lines, "  Enter: next / send and register   Esc: cancel"].join("\n");
}

/** One key typed into the form: "submit" when the consent is given, "cancel" on Esc or a refusal. */
export function formKey(form: RegistrationForm, key: string): "submit" | "cancel" | undefined {
  if (key === "\u001b") return "cancel";
  const names = ["serviceId", "userId", "password"] as const;
  if (form.field === 3) {
    if (key === "y" || key === "Y") {
      form.consent = true;
      return "submit";
    }
    if (key === "n" || key === "N") return "cancel";
    return undefined;
  }
  const name = names[form.field];
  if (key === "\r" || key === "\n") {
    form.field++;
  } else if (key === "\u007f" || key === "\b") {
    form[name] = form[name].slice(0, -1);
  } else if (/^[\x21-\x7e]$/.test(key) && form[name].length < 16) {
    form[name] += name === "userId" ? key.toUpperCase() : key;
  }
  return undefined;
}

/** Relays the token's activation to the bank (same process, the bank's SQLite file). Returns the profile index. */
export function activateAgainstBank(token: SimToken, form: RegistrationForm, options: BankOptionsForSim): number {
  if (!form.consent) throw new Error("the terms of use must be accepted");
  const request = token.link.activateBegin(form.serviceId, form.userId, form.password);
  const masterKey = MasterKey.load(options.masterKeyFile);
  const store = BankStore.open(options.db);
  try {
    const bank = new Bank(store, masterKey);
    const { profile, confirmation } = token.link.activateFinish(bank.activate(request));
    bank.register(confirmation);
    return profile;
  } finally {
    store.close();
  }
}

export interface BankOptionsForSim {
  db: string;
  masterKeyFile?: string;
}

async function interactive(flashPath: string, speed: number, io: Io, bankOptions: BankOptionsForSim): Promise<number> {
  const token = loadToken(flashPath, io);
  if (token.info().profileCount === 0) {
    const prompt = createInterface({ input: process.stdin, output: process.stdout });
    const answer = (await prompt.question("This token has no profile. Program the demo profile (RFC 6238 test seed)? [Y/n] ")).trim().toLowerCase();
    prompt.close();
    if (answer === "" || answer === "y" || answer === "yes") token.addProfile(DEMO_PROFILE);
  }
  saveFlash(token, flashPath);
  let flashOperations = token.board.flash.operationCount;
  let lastWall = Date.now();
  let message = "Press space to wake the token.";

  const draw = () => {
    const rtc = token.rtcSeconds();
    const time = rtc < 0n ? "clock lost" : new Date(Number(rtc) * 1000).toISOString().replace(".000Z", "Z");
    process.stdout.write("\x1b[H\x1b[2J");
    process.stdout.write(`otp-token simulator   token time ${time}   speed ${speed}x\nflash: ${flashPath}\n\n`);
    process.stdout.write(`${token.render()}\n${describeScreen(token.screen())}\n\n`);
    if (form) {
      process.stdout.write(`${renderForm(form)}\n`);
    } else {
      process.stdout.write("[space] press   [h] hold 2.5 s   [f] +30 s   [a] register (activate) with the bank   [q] quit\n");
    }
    process.stdout.write(`${message}\n`);
  };

  let form: RegistrationForm | undefined;
  const register = (filled: RegistrationForm) => {
    try {
      const profile = activateAgainstBank(token, filled, bankOptions);
      saveIfWritten();
      message = `Registered as profile ${profile}. Type the code into the bank's confirm screen: otp-token bank confirm --service-id ${filled.serviceId} --user-id ${filled.userId} CODE`;
    } catch (error) {
      message = `Registration failed: ${(error as Error).message}`;
    }
  };

  // Saves the image whenever the firmware wrote flash.
  const saveIfWritten = () => {
    if (token.board.flash.operationCount !== flashOperations) {
      flashOperations = token.board.flash.operationCount;
      saveFlash(token, flashPath);
    }
  };
  const step = (ms: number) => {
    token.advance(ms);
    saveIfWritten();
  };

  return await new Promise<number>((done) => {
    process.stdin.setRawMode(true);
    process.stdin.resume();
    const timer = setInterval(() => {
      const now = Date.now();
      step((now - lastWall) * speed);
      lastWall = now;
      draw();
    }, 100);
    const quit = () => {
      clearInterval(timer);
      process.stdin.setRawMode(false);
      process.stdin.pause();
      saveFlash(token, flashPath);
      process.stdout.write(`\nSaved ${flashPath}\n`);
      done(0);
    };
    process.stdin.on("data", (data: Buffer) => {
      const key = data.toString();
      if (key === "\u0003") return quit();
      if (form) {
        // A paste arrives as several characters at once: type them one by one.
        let result: ReturnType<typeof formKey>;
        for (const character of key) {
          result = formKey(form, character);
          if (result) break;
        }
        if (result === "cancel") {
          form = undefined;
          message = "Registration cancelled.";
        } else if (result === "submit") {
          const filled = form;
          form = undefined;
          register(filled);
        }
        draw();
        return;
      }
      if (key === "q") return quit();
      if (key === "a") {
        form = { field: 0, serviceId: "", userId: "", password: "", consent: false };
        message = "Token set-up: type each field and press Enter (Esc cancels).";
        draw();
        return;
      }
      if (key === " " || key === "\r" || key === "p") {
        token.press();
        saveIfWritten();
        message = "Pressed button A.";
      } else if (key === "h") {
        token.hold(2500);
        saveIfWritten();
        message = "Held button A for 2.5 s.";
      } else if (key === "f") {
        step(30_000);
        message = "Fast-forwarded 30 s.";
      }
      draw();
    });
    draw();
  });
}
