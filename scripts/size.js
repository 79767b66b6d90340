#!/usr/bin/env node
// Size report for every build/*.wasm (npm run size): raw and gzip bytes, static data (the data
// segments' total length and the highest address an active segment reaches), function and export
// counts. wasmStats() parses the binary itself and is exported for tests.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";

const SECTION_FUNCTION = 3;
const SECTION_EXPORT = 7;
const SECTION_DATA = 11;
const OP_I32_CONST = 0x41;
const OP_I64_CONST = 0x42;
const OP_END = 0x0b;

/** A cursor over a wasm binary with the LEB128 readers the format needs. */
class Reader {
  constructor(bytes, pos = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
  }

  byte() {
    if (this.pos >= this.end) throw new RangeError(`wasm: unexpected end at byte ${this.pos}`);
    return this.bytes[this.pos++];
  }

  /** Unsigned LEB128 of at most 32 bits. */
  u32() {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 5; i++) {
      const b = this.byte();
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (result > 0xffffffff) throw new RangeError(`wasm: u32 LEB128 out of range at byte ${this.pos}`);
        return result;
      }
      scale *= 128;
    }
    throw new RangeError(`wasm: u32 LEB128 longer than 5 bytes at byte ${this.pos}`);
  }

  /** Signed LEB128 of `bits` (32 or 64) as a bigint. */
  sleb(bits) {
    let result = 0n;
    let shift = 0n;
    const max = Math.ceil(bits / 7);
    for (let i = 0; i < max; i++) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if ((b & 0x80) === 0) {
        if (b & 0x40) result -= 1n << shift; // sign-extend
        return result;
      }
    }
    throw new RangeError(`wasm: s${bits} LEB128 too long at byte ${this.pos}`);
  }

  skip(n) {
    if (this.pos + n > this.end) throw new RangeError(`wasm: ${n} bytes run past the end at byte ${this.pos}`);
    this.pos += n;
  }
}

/**
 * An offset expression of an active data segment. Returns the offset as a number when it is a single
 * i32.const (or i64.const for memory64), or null when it depends on something else (global.get,
 * extended constant expressions); the reader is left after the closing `end`.
 */
function readOffset(r) {
  const first = r.byte();
  if (first === OP_I32_CONST || first === OP_I64_CONST) {
    const value = r.sleb(first === OP_I32_CONST ? 32 : 64);
    if (r.bytes[r.pos] === OP_END) {
      r.pos++;
      // i32 offsets are unsigned addresses: wrap negatives.
      return first === OP_I32_CONST ? Number(BigInt.asUintN(32, value)) : Number(BigInt.asUintN(64, value));
    }
  }
  // Anything else: scan to the end opcode. Immediates of constant instructions (global.get idx,
  // i32/i64.const, i32/i64.add/sub/mul) never contain a bare 0x0b that ends the expression early
  // except inside LEB immediates, so decode them properly.
  r.pos--;
  for (;;) {
    const op = r.byte();
    if (op === OP_END) return null;
    if (op === OP_I32_CONST) r.sleb(32);
    else if (op === OP_I64_CONST) r.sleb(64);
    else if (op === 0x23)
      r.u32(); // global.get
    else if (op >= 0x6a && op <= 0x7e)
      continue; // i32/i64 add, sub, mul (extended-const)
    else throw new RangeError(`wasm: unsupported opcode 0x${op.toString(16)} in a data offset`);
  }
}

/**
 * Statistics of one WebAssembly module.
 * @param {Uint8Array} bytes the module's binary
 * @returns {{ bytes: number, functions: number, exports: number, dataSegments: number,
 *   dataBytes: number, staticEnd: number | null, segments: Array<{ mode: "active" | "passive",
 *   memory: number | null, offset: number | null, length: number }> }}
 *   functions counts the function section (defined functions, not imports); staticEnd is the highest
 *   offset + length of an active segment with a constant offset (null when there is none).
 */
export function wasmStats(bytes) {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("wasmStats: bytes must be a Uint8Array");
  if (bytes.length < 8 || bytes[0] !== 0x00 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new RangeError("wasmStats: not a WebAssembly binary (bad magic)");
  }
  const version = bytes[4] | (bytes[5] << 8) | (bytes[6] << 16) | (bytes[7] << 24);
  if (version !== 1) throw new RangeError(`wasmStats: unsupported binary version ${version}`);

  const stats = { bytes: bytes.length, functions: 0, exports: 0, dataSegments: 0, dataBytes: 0, staticEnd: null, segments: [] };
  const r = new Reader(bytes, 8);
  while (r.pos < bytes.length) {
    const id = r.byte();
    const size = r.u32();
    const start = r.pos;
    const end = start + size;
    if (end > bytes.length) throw new RangeError(`wasmStats: section ${id} runs past the end of the file`);
    const s = new Reader(bytes, start, end);
    if (id === SECTION_FUNCTION) {
      stats.functions = s.u32();
    } else if (id === SECTION_EXPORT) {
      stats.exports = s.u32();
    } else if (id === SECTION_DATA) {
      const count = s.u32();
      stats.dataSegments = count;
      for (let i = 0; i < count; i++) {
        const flags = s.u32();
        let memory = null;
        let offset = null;
        let mode;
        if (flags === 0) {
          mode = "active";
          memory = 0;
          offset = readOffset(s);
        } else if (flags === 1) {
          mode = "passive";
        } else if (flags === 2) {
          mode = "active";
          memory = s.u32();
          offset = readOffset(s);
        } else {
          throw new RangeError(`wasmStats: data segment ${i} has unknown flags ${flags}`);
        }
        const length = s.u32();
        s.skip(length);
        stats.dataBytes += length;
        stats.segments.push({ mode, memory, offset, length });
        if (mode === "active" && offset !== null) {
          stats.staticEnd = Math.max(stats.staticEnd ?? 0, offset + length);
        }
      }
      if (s.pos !== end) throw new RangeError(`wasmStats: data section has ${end - s.pos} trailing bytes`);
    }
    r.pos = end;
  }
  return stats;
}

function table(header, rows, rightAligned) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => String(row[i]).length)));
  const line = (cells) =>
    cells
      .map((c, i) => (rightAligned[i] ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** The module's own count of static memory (token firmware: staticBytes()), or undefined. */
function staticRam(bytes) {
  const module = new WebAssembly.Module(bytes);
  if (!WebAssembly.Module.exports(module).some((e) => e.name === "staticBytes")) return undefined;
  // Every import is stubbed: staticBytes() touches none of them.
  const imports = {};
  for (const { module: name, name: field } of WebAssembly.Module.imports(module)) {
    imports[name] ??= {};
    imports[name][field] = () => 0;
  }
  return new WebAssembly.Instance(module, imports).exports.staticBytes();
}

function main() {
  const buildDir = join(dirname(fileURLToPath(import.meta.url)), "..", "build");
  const files = readdirSync(buildDir)
    .filter((name) => name.endsWith(".wasm"))
    .sort();
  if (files.length === 0) {
    console.error(`no .wasm files in ${buildDir}: run npm run build:wasm`);
    process.exitCode = 1;
    return;
  }
  const rows = files.map((name) => {
    const bytes = readFileSync(join(buildDir, name));
    const stats = wasmStats(bytes);
    const gzip = gzipSync(bytes, { level: 9 }).length;
    return [
      name,
      stats.bytes,
      gzip,
      stats.dataBytes,
      stats.dataSegments,
      stats.staticEnd ?? "-",
      staticRam(bytes) ?? "-",
      stats.functions,
      stats.exports,
    ];
  });
  console.log(
    table(["file", "raw B", "gzip-9 B", "data B", "segments", "static end", "static RAM B", "functions", "exports"], rows, [
      false,
      true,
      true,
      true,
      true,
      true,
      true,
      true,
      true,
    ]),
  );
  console.log("\ndata B: total length of all data segments; static end: highest offset+length of an active segment");
  console.log("(zero-initialised static memory such as buffers from memory.data(size) has no segment and is not counted).");
  console.log("static RAM B: all static memory, zero-initialised buffers included (the firmware's staticBytes(): its heap base;");
  console.log("it has no heap), for modules that export it.");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
