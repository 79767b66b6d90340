// Counting executed WebAssembly instructions, independently of V8: a module is rewritten so that every
// straight-line run of instructions adds its length to an exported i64 global, `__instructions`.
// wabt's wasm2wat prints one instruction per line (its flat form); a run ends after any instruction
// that can move control (block, loop, if, else, end, br, br_if, br_table, return, unreachable), so the
// counter code at the head of each run adds exactly the instructions that then execute. Counted: every
// instruction except the purely structural block, loop, else and end (an interpreter resolves those
// ahead of time); if and every branch count. wat2wasm turns the result back into a module.
//
// Needs wabt (Debian package `wabt`); count() returns null where wasm2wat or wat2wasm is missing.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const STRUCTURAL = new Set(["block", "loop", "else", "end"]);
const ENDS_RUN = new Set(["block", "loop", "if", "else", "end", "br", "br_if", "br_table", "return", "unreachable"]);
const COUNTER = "$__instructions";

/** Net parentheses of a line of flat WAT, comments left out. */
function parenBalance(line: string): number {
  const code = line.replace(/;;.*$/, "").replace(/\(;[^;]*;\)/g, "");
  let depth = 0;
  for (const c of code) depth += c === "(" ? 1 : c === ")" ? -1 : 0;
  return depth;
}

/** Inserts the counter into flat WAT (wasm2wat's output). */
export function instrumentWat(wat: string): string {
  const lines = wat.split("\n");
  const out: string[] = [];
  let inFunction = false;
  let depth = 0;
  let run: string[] = [];
  let counted = 0;
  const flush = () => {
    if (counted > 0) out.push(`    global.get ${COUNTER}`, `    i64.const ${counted}`, "    i64.add", `    global.set ${COUNTER}`);
    out.push(...run);
    run = [];
    counted = 0;
  };
  for (const line of lines) {
    const trimmed = line.trim();
    if (!inFunction) {
      if (trimmed.startsWith("(func")) {
        depth = parenBalance(line);
        inFunction = depth > 0;
        out.push(line);
        continue;
      }
      out.push(line);
      continue;
    }
    if (trimmed.startsWith("(local")) {
      out.push(line);
      continue;
    }
    const opcode = trimmed.split(/[\s)]/)[0];
    run.push(line);
    if (!STRUCTURAL.has(opcode)) counted++;
    depth += parenBalance(line);
    if (ENDS_RUN.has(opcode) || depth <= 0) flush();
    if (depth <= 0) inFunction = false;
  }
  // The module's closing parenthesis is the last line that is not empty.
  let last = out.length - 1;
  while (last > 0 && out[last].trim() === "") last--;
  out[last] = out[last].replace(/\)\s*$/, `\n  (global ${COUNTER} (export "__instructions") (mut i64) (i64.const 0)))`);
  return out.join("\n");
}

/** `wasm` with the counter added, or null without wabt. */
export function instrument(wasm: Uint8Array): Uint8Array<ArrayBuffer> | null {
  const dir = mkdtempSync(join(tmpdir(), "otp-count-"));
  try {
    const input = join(dir, "in.wasm");
    const text = join(dir, "counted.wat");
    const output = join(dir, "counted.wasm");
    writeFileSync(input, wasm);
    try {
      const wat = execFileSync("wasm2wat", [input], { encoding: "utf8", maxBuffer: 64 << 20, stdio: ["ignore", "pipe", "pipe"] });
      writeFileSync(text, instrumentWat(wat));
      execFileSync("wat2wasm", [text, "-o", output], { stdio: ["ignore", "pipe", "pipe"] });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw error;
    }
    return new Uint8Array(readFileSync(output));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
