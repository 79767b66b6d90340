// otp-token token: the token side of the procedure from the command line, on the same simulated
// token as npm start (its flash file), against a bank database through the same activation messages.
import { resolve } from "node:path";
import { Bank } from "../bank/bank.js";
import { MasterKey } from "../bank/crypto.js";
import { BankError } from "../bank/errors.js";
import { BankStore } from "../bank/store.js";
import { ACTIVATION_PASSWORD_PATTERN, SERVICE_ID_PATTERN, USER_ID_PATTERN } from "../identity.js";
import { defaultFlashPath, FlashFileError, openTokenFile, saveTokenFile } from "../token/flash-file.js";
import { LinkError } from "../token/link.js";
import { DEFAULT_DB, processStdin, type Stdin } from "./bank.js";
import { describeScreen } from "./sim.js";
import { type Io, parse, UsageError } from "./usage.js";

export const TOKEN_HELP = `Usage: otp-token token <subcommand> [options]

The simulated token of npm start (its flash file), from the command line.

Subcommands:
  activate   register the token with the bank (procedure step 4): Service ID, User ID and the
             activation password; the seed is agreed with the bank, and the token shows its
             first code for the bank's confirm screen (step 5)
  show       press the token's button and print what it shows
  info       the token's serial number, firmware, profiles and clock (never a seed)

Options:
  --flash PATH            the token's flash image (default $OTP_TOKEN_HOME/token.flash,
                          $OTP_TOKEN_HOME defaulting to ~/.otp-token)
  --service-id ID         (activate) the 8-digit Service ID the bank showed
  --user-id ID            (activate) the 16-character User ID the bank showed
  --db PATH               (activate) the bank database, default ${DEFAULT_DB}
  --master-key-file PATH  (activate) the bank's master key, or $OTP_BANK_MASTER_KEY
  -h, --help              this help

The activation password is read from the terminal without echo, or from the first line of
standard input; never from the command line.
Exit status: 0 on success, 1 when the token or the bank refused, 2 on a usage error.
`;

export function makeTokenCommand(stdin: Stdin = processStdin) {
  return async function tokenCommand(args: string[], io: Io): Promise<number> {
    const [sub, ...rest] = args;
    const { values, positionals } = parse(rest, {
      flash: { type: "string" },
      "service-id": { type: "string" },
      "user-id": { type: "string" },
      db: { type: "string" },
      "master-key-file": { type: "string" },
      help: { type: "boolean", short: "h" },
    });
    if (sub === undefined || sub === "help" || sub === "--help" || sub === "-h" || values.help) {
      io.out(TOKEN_HELP);
      return sub === undefined ? 2 : 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    if (!["activate", "show", "info"].includes(sub)) throw new UsageError(`unknown token subcommand ${JSON.stringify(sub)}: use activate, show or info`);
    const flashPath = resolve(values.flash ?? defaultFlashPath());
    let token;
    try {
      token = openTokenFile(flashPath).token;
    } catch (error) {
      if (error instanceof FlashFileError) throw new UsageError(error.message);
      throw error;
    }
    try {
      if (sub === "info") {
        const info = token.info();
        io.out(`serial ${info.serial}, firmware ${info.firmware}, battery ${info.batteryMillivolts} mV, clock ${info.clockValid ? "valid" : "lost"}\n`);
        for (const p of token.profiles()) io.out(`profile ${p.index}: ${p.label} (${p.algorithm}, ${p.digits} digits, ${p.period} s)\n`);
        return 0;
      }
      if (sub === "show") {
        token.press();
        io.out(`${token.render()}\n${describeScreen(token.screen())}\n`);
        return 0;
      }
      const serviceId = values["service-id"];
      const userId = values["user-id"];
      if (serviceId === undefined || userId === undefined) throw new UsageError("activate needs --service-id and --user-id (as the bank showed them)");
      if (!SERVICE_ID_PATTERN.test(serviceId)) throw new UsageError("--service-id must be 8 digits");
      if (!USER_ID_PATTERN.test(userId)) throw new UsageError("--user-id must be 16 upper-case letters or digits");
      const password = stdin.isTTY
        ? await stdin.readSecret("Activation password: ")
        : stdin.readAll().split(/\r?\n/)[0];
      if (!ACTIVATION_PASSWORD_PATTERN.test(password)) throw new UsageError("the activation password must be 4-8 letters or digits");
      const masterKey = MasterKey.load(values["master-key-file"]);
      const store = BankStore.open(values.db ?? DEFAULT_DB);
      try {
        const bank = new Bank(store, masterKey, { now: io.now });
        const request = token.link.activateBegin(serviceId, userId, password);
        const { profile: index, confirmation } = token.link.activateFinish(bank.activate(request));
        bank.register(confirmation);
        io.out(`Registered: profile ${index}.\n${token.render()}\n${describeScreen(token.screen())}\n`);
        io.out(`Type the code into the bank's confirm screen: otp-token bank confirm --service-id ${serviceId} --user-id ${userId} ${token.screen().code}\n`);
        return 0;
      } finally {
        store.close();
      }
    } catch (error) {
      if (error instanceof BankError || error instanceof LinkError) {
        io.err(`otp-token token ${sub}: ${error.message}\n`);
        return 1;
      }
      throw error;
    } finally {
      saveTokenFile(token, flashPath);
    }
  };
}

export const tokenCommand = makeTokenCommand();
