// otp-token code: print HOTP/TOTP codes for a key, like `oathtool`.
import { decodeBase32 } from "../base32.js";
import { algorithmName, otpApi } from "../otp.js";
import { bigOption, integerOption, type Io, parse, UsageError } from "../usage.js";

export const CODE_HELP = `Usage: otp-token code [options] KEY

Prints the one-time password for KEY, one code per line.

KEY is the secret in hex (e.g. 3132333435363738393031323334353637383930),
or in base32 with --base32 (e.g. GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ; lengths as oathtool takes them),
or an otpauth:// URI as authenticator apps scan it (Key Uri Format: secret, algorithm, digits,
period, counter), e.g. 'otpauth://totp/Bank:taro?secret=GEZDGNBVGY3TQOJQ&period=60'; options given
on the command line win over the URI's parameters.

Options:
  --hotp               HOTP (RFC 4226, counter based) instead of TOTP (RFC 6238, time based)
  --algorithm A        SHA1 (default), SHA256 or SHA512
  --digits N           6 (default), 7 or 8
  --period S           TOTP step in seconds, 1-86400 (default 60, as on the token)
  --time UNIX_SECONDS  TOTP time (default: now)
  --counter N          HOTP counter (default 0)
  --window N           also print the codes of the N following steps or counters (like oathtool -w)
  --base32             KEY is base32, not hex
  -h, --help           this help

Exit status: 0 on success, 2 on a usage error (the message says what is accepted).
`;

export function codeCommand(args: string[], io: Io): number {
  const { values, positionals } = parse(args, {
    hotp: { type: "boolean" },
    algorithm: { type: "string" },
    digits: { type: "string" },
    period: { type: "string" },
    time: { type: "string" },
    counter: { type: "string" },
    window: { type: "string" },
    base32: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.out(CODE_HELP);
    return 0;
  }
  if (positionals.length !== 1)
    throw new UsageError(positionals.length === 0 ? "KEY is missing" : `expected one KEY, got ${positionals.length} arguments`);
  const uri = /^otpauth:/i.test(positionals[0]) ? parseOtpauth(positionals[0]) : undefined;
  if (uri && values.base32) throw new UsageError("--base32 is for a bare key: an otpauth:// URI carries its secret in base32 already");
  const key = uri ? uri.key : parseKey(positionals[0], values.base32 === true);
  if (uri) {
    values.hotp ??= uri.hotp || undefined;
    values.algorithm ??= uri.algorithm;
    values.digits ??= uri.digits;
    values.period ??= uri.period;
    values.counter ??= uri.counter;
  }
  let algorithm: string;
  try {
    algorithm = algorithmName(values.algorithm ?? "SHA1");
  } catch (error) {
    throw new UsageError(`--algorithm: ${(error as Error).message}`);
  }
  const digits = integerOption(values.digits, "digits", 6, 8, 6);
  const window = integerOption(values.window, "window", 0, 1000, 0);
  const api = otpApi();
  if (values.hotp) {
    if (values.time !== undefined || values.period !== undefined)
      throw new UsageError("--time and --period are for TOTP; HOTP takes --counter");
    const counter = bigOption(values.counter, "counter") ?? 0n;
    if (counter + BigInt(window) >= 1n << 64n) throw new UsageError("--counter plus --window must stay below 2^64");
    for (let i = 0n; i <= BigInt(window); i++) io.out(`${api.hotp(key, counter + i, { algorithm, digits })}\n`);
    return 0;
  }
  if (values.counter !== undefined) throw new UsageError("--counter is for HOTP: add --hotp, or give --time for TOTP");
  const period = integerOption(values.period, "period", 1, 86400, 60);
  const time = bigOption(values.time, "time") ?? BigInt(io.now());
  for (let i = 0n; i <= BigInt(window); i++) io.out(`${api.totp(key, time + i * BigInt(period), { algorithm, digits, period })}\n`);
  return 0;
}

function parseKey(text: string, base32: boolean): Uint8Array {
  let key: Uint8Array;
  if (base32) {
    try {
      key = decodeBase32(text);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  } else {
    const hex = text.replace(/\s+/g, "");
    if (!/^([0-9a-fA-F]{2})+$/.test(hex)) {
      throw new UsageError("KEY must be hex (an even number of 0-9 a-f), or base32 with --base32");
    }
    key = new Uint8Array(Buffer.from(hex, "hex"));
  }
  if (key.length === 0) throw new UsageError("KEY is empty");
  return key;
}

/**
 * An otpauth:// URI (Google Authenticator's Key Uri Format): otpauth://TYPE/LABEL?secret=BASE32
 * &algorithm=&digits=&period=&counter=. Its parameters are option values, checked as the options are.
 */
function parseOtpauth(text: string): {
  key: Uint8Array;
  hotp: boolean;
  algorithm?: string;
  digits?: string;
  period?: string;
  counter?: string;
} {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError("KEY looks like an otpauth:// URI but is not a valid URI");
  }
  const type = url.hostname.toLowerCase();
  if (type !== "totp" && type !== "hotp")
    throw new UsageError(`otpauth:// URI type must be totp or hotp, got ${JSON.stringify(url.hostname)}`);
  const secret = url.searchParams.get("secret");
  if (!secret) throw new UsageError("the otpauth:// URI has no secret= parameter");
  const hotp = type === "hotp";
  if (hotp && url.searchParams.get("counter") === null) throw new UsageError("an otpauth://hotp URI needs its counter= parameter");
  const optional = (name: string) => url.searchParams.get(name) ?? undefined;
  if (!hotp && optional("counter") !== undefined) throw new UsageError("counter= is for otpauth://hotp URIs");
  return {
    key: parseKey(secret, true),
    hotp,
    algorithm: optional("algorithm"),
    digits: optional("digits"),
    period: hotp ? undefined : optional("period"),
    counter: optional("counter"),
  };
}
