// QEMU's `microbit` machine (an nRF51822, Cortex-M0) as a child process, with its UART on two FIFOs
// that the host reads and writes synchronously, so the token's link (TokenLink) works over it exactly
// as over the simulator's function call.
//
// Cleanup on every exit path: the process runs in its own process group under a small shell that
// kills QEMU when the host's end of a pipe closes (so even a host killed with SIGKILL leaves no QEMU
// behind); stop() kills the group; process exit, SIGINT, SIGTERM and SIGHUP stop every board still
// running.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, constants, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync } from "node:fs";
import { constants as osConstants, tmpdir } from "node:os";
import { join } from "node:path";

/** The emulator, overridable for a QEMU outside PATH. */
export function qemuBinary(): string {
  return process.env.OTP_TOKEN_QEMU ?? "qemu-system-arm";
}

/** Why the emulated board cannot run here, or undefined when it can. */
export function qemuMissing(): string | undefined {
  const result = spawnSync(qemuBinary(), ["-machine", "help"], { encoding: "utf8" });
  if (result.error || result.status !== 0) return `${qemuBinary()} is not installed (Debian: qemu-system-arm)`;
  if (!/^microbit\s/m.test(result.stdout)) return `${qemuBinary()} has no microbit machine`;
  return undefined;
}

export interface QemuOptions {
  /** The ELF to run (-kernel). */
  elf: string;
  /** -icount shift: each guest instruction takes 2^shift ns of virtual time. */
  icountShift: number;
  /** false: while the CPU sleeps, virtual time jumps to the next timer at once (-icount sleep=off). */
  sleep: boolean;
  /** More QEMU arguments (the bench loads its TCG plugin with them). */
  extraArgs?: string[];
}

// Kills QEMU when the host closes its end of stdin (or dies); passes SIGTERM on and waits for QEMU to
// finish; exits with QEMU's status otherwise. (A background job's stdin is /dev/null unless
// redirected: hence the copy on fd 3.)
const WRAPPER = `exec 3<&0
"$@" </dev/null & q=$!
trap 'kill -TERM $q 2>/dev/null; wait $q; exit 143' TERM
(read -r _ <&3; kill $q 2>/dev/null) &
wait $q; status=$?
kill $! 2>/dev/null
exit $status`;

const running = new Set<QemuBoard>();
let handlersInstalled = false;

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on("exit", () => {
    for (const board of running) board.stop();
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      for (const board of running) board.stop();
      // The default action, which this listener replaced: end with the signal's status.
      process.exit(128 + (osConstants.signals[signal] ?? 1));
    });
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread for `ms` (fractions allowed): the host waits synchronously for the board. */
export function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

export class QemuBoard {
  private readonly dir: string;
  private readonly child: ChildProcess;
  private readonly readFd: number;
  private readonly writeFd: number;
  private readonly logPath: string;
  private stopped = false;

  constructor(readonly options: QemuOptions) {
    if (!existsSync(options.elf)) throw new Error(`${options.elf} is missing: run npm run build (it needs wabt and gcc-arm-none-eabi)`);
    installHandlers();
    this.dir = mkdtempSync(join(tmpdir(), "otp-token-mcu-"));
    const serial = join(this.dir, "serial");
    for (const fifo of [`${serial}.in`, `${serial}.out`]) {
      const made = spawnSync("mkfifo", ["-m", "600", fifo]);
      if (made.status !== 0) {
        rmSync(this.dir, { recursive: true, force: true });
        throw new Error(`mkfifo ${fifo} failed: ${made.stderr?.toString().trim()}`);
      }
    }
    // O_RDWR never blocks on a FIFO (Linux); QEMU opens both ends the same way.
    this.writeFd = openSync(`${serial}.in`, constants.O_RDWR);
    this.readFd = openSync(`${serial}.out`, constants.O_RDONLY | constants.O_NONBLOCK);
    this.logPath = join(this.dir, "qemu.log");
    const log = openSync(this.logPath, "w");
    const args = [
      "-M",
      "microbit",
      "-display",
      "none",
      "-monitor",
      "none",
      "-nodefaults",
      "-serial",
      `pipe:${serial}`,
      "-icount",
      `shift=${options.icountShift},sleep=${options.sleep ? "on" : "off"}`,
      "-kernel",
      options.elf,
      ...(options.extraArgs ?? []),
    ];
    this.child = spawn("/bin/sh", ["-c", WRAPPER, "otp-token-qemu", qemuBinary(), ...args], {
      detached: true,
      stdio: ["pipe", "ignore", log],
    });
    closeSync(log);
    this.child.unref();
    (this.child.stdin as unknown as { unref?: () => void }).unref?.();
    running.add(this);
  }

  /** The process group QEMU and its wrapper run in (for diagnostics and the cleanup tests). */
  get processGroup(): number | undefined {
    return this.child.pid;
  }

  /** False once QEMU has exited (or the board was stopped). */
  alive(): boolean {
    if (this.stopped || this.child.exitCode !== null) return false;
    try {
      // Linux: a process that exited but was not yet reaped is a zombie ("Z").
      const stat = readFileSync(`/proc/${this.child.pid}/stat`, "utf8");
      return !/^\d+ \(.*\) Z/.test(stat);
    } catch {
      return false;
    }
  }

  /** What QEMU printed (its errors), for messages. */
  log(): string {
    try {
      return readFileSync(this.logPath, "utf8").trim();
    } catch {
      return "";
    }
  }

  write(bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) done += writeSync(this.writeFd, bytes, done, bytes.length - done);
  }

  /** Reads up to `length` bytes, waiting until some arrive or `deadline` (ms since epoch) passes: 0 then. */
  read(into: Uint8Array, offset: number, length: number, deadline: number): number {
    let pause = 0.02;
    for (;;) {
      try {
        const n = readSync(this.readFd, into, offset, length, null);
        if (n > 0) return n;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
      }
      if (Date.now() >= deadline || !this.alive()) return 0;
      sleepSync(pause);
      pause = Math.min(pause * 2, 2);
    }
  }

  /**
   * Kills QEMU and removes its FIFOs. Safe to call more than once. `graceful` asks QEMU to shut down
   * first (SIGTERM), so plugins write their results, and kills it only if it has not gone within 10 s.
   */
  stop(graceful = false): void {
    if (this.stopped) return;
    if (graceful && this.child.pid !== undefined && this.alive()) {
      try {
        process.kill(this.child.pid, "SIGTERM");
      } catch {
        // Already gone.
      }
      const deadline = Date.now() + 10_000;
      while (this.alive() && Date.now() < deadline) sleepSync(10);
    }
    this.stopped = true;
    running.delete(this);
    try {
      if (this.child.pid !== undefined) process.kill(-this.child.pid, "SIGKILL");
    } catch {
      // Already gone.
    }
    this.child.stdin?.destroy();
    for (const fd of [this.readFd, this.writeFd]) {
      try {
        closeSync(fd);
      } catch {
        // Closed already.
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
