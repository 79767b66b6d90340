// otp-token sim: until the token device lands, a demo of live codes for a demo key.
import { otpApi } from "../otp.js";
import { type Io, parse } from "./usage.js";

const DEMO_KEY = new TextEncoder().encode("12345678901234567890");

export function simCommand(args: string[], io: Io): number {
  const { values } = parse(args, { help: { type: "boolean", short: "h" } }, false);
  if (values.help) {
    io.out("Usage: otp-token sim\n\nShows the codes of a demo key (RFC 4226's test secret) for the current and next steps.\n");
    return 0;
  }
  const api = otpApi();
  const now = io.now();
  io.out(`Demo key "12345678901234567890" (TOTP, SHA-1, 6 digits, 60 s step)\n`);
  for (let step = 0; step < 3; step++) {
    const time = now + step * 60;
    const left = 60 - (time % 60);
    io.out(`${step === 0 ? "now " : `+${step} min`}  ${api.totp(DEMO_KEY, time)}  (${left} s left in its step)\n`);
  }
  return 0;
}
