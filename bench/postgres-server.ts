// A throw-away PostgreSQL server from Debian's `postgresql` package, for the tests and the bench:
// initdb in a temporary folder, pg_ctl on a free 127.0.0.1 port (and a Unix socket in the folder),
// stopped and removed on every exit path: stop() (afterAll, the bench's finally), the process's exit,
// SIGINT and SIGTERM, and, should this process be killed outright (SIGKILL), a watchdog shell that
// outlives it and stops the server once its parent is gone.
//
// initdb refuses to run as root (CI runs as root): then the server runs as the `postgres` system user
// the package creates (runuser -u postgres), the folder chowned to it; an ordinary user runs it as
// itself. The same steps for a person are in README, "Running more than one instance".
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The role initdb creates (-U), owner of everything; trust authentication on 127.0.0.1 only. */
export const PG_ROLE = "bank";

/** Debian's newest PostgreSQL server binaries (/usr/lib/postgresql/<major>/bin), or null. */
export function postgresBin(): string | null {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return null;
  const majors = readdirSync(root)
    .filter((name) => /^\d+$/.test(name) && existsSync(join(root, name, "bin", "pg_ctl")) && existsSync(join(root, name, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return majors.length > 0 ? join(root, majors[0], "bin") : null;
}

/** Why PostgreSQL tests cannot run here, or null when they can. */
export function postgresMissing(): string | null {
  if (postgresBin() === null)
    return "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin): install Debian's postgresql package (.ci/run does)";
  if (process.getuid?.() === 0 && spawnSync("id", ["-u", "postgres"]).status !== 0) {
    return "running as root, and there is no postgres system user to run the server as (Debian's postgresql package creates it)";
  }
  return null;
}

export interface PgServerOptions {
  /**
   * Durable commits (fsync on, synchronous_commit on: PostgreSQL's defaults), for the bench. The
   * tests run with fsync off: nothing there survives the machine anyway, and it is 10x faster.
   */
  durable?: boolean;
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string | number>;
}

export interface PgServer {
  readonly port: number;
  /** postgres://bank@127.0.0.1:PORT/DATABASE */
  url(database?: string): string;
  /** Creates a database (for one test's own schema). */
  createDatabase(name: string): void;
  /** Stops the server (fast shutdown: open connections are closed), keeping its data. */
  stopServer(): void;
  /** Starts it again on the same port. */
  startServer(): void;
  /**
   * `pg_ctl restart -m immediate`: every server process killed at once (a crash: no shutdown
   * checkpoint, recovery from the WAL at the start), then started again on the same port. Does not
   * block the event loop.
   */
  restartImmediate(): Promise<void>;
  /** Stops it for good and removes its folder. */
  stop(): void;
  /** Every file of the data directory (tables, indexes, WAL) concatenated: what the database keeps on disk. */
  filesAtRest(): Buffer;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const running = new Set<PgServer>();
let exitHooksInstalled = false;

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on("exit", () => {
    for (const server of running) server.stop();
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    const onSignal = () => {
      for (const server of running) server.stop();
      process.off(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/** Starts a new server; throws when it cannot (call postgresMissing() first to skip cleanly). */
export async function startPostgres(options: PgServerOptions = {}): Promise<PgServer> {
  const bin = postgresBin();
  if (bin === null) throw new Error(postgresMissing()!);
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), "otp-pg-"));
  const data = join(dir, "data");
  const log = join(dir, "server.log");
  if (asRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    chownSync(dir, uid, gid);
  }
  const run = (program: string, args: string[], timeout = 60_000) => {
    const [command, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", join(bin, program), ...args]] : [join(bin, program), args];
    const result = spawnSync(command, argv, { encoding: "utf8", timeout, cwd: dir });
    if (result.status !== 0) {
      const serverLog = existsSync(log) ? readFileSync(log, "utf8").slice(-2000) : "";
      throw new Error(
        `${program} ${args.join(" ")} failed (${result.status ?? result.signal}): ${result.stderr || result.stdout}\n${serverLog}`,
      );
    }
    return result.stdout;
  };
  try {
    run("initdb", ["-D", data, "-A", "trust", "-U", PG_ROLE, "--no-sync", "-E", "UTF8", "--no-locale"]);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const settings: Record<string, string | number> = {
    listen_addresses: "127.0.0.1",
    unix_socket_directories: dir,
    max_connections: 200,
    ...(options.durable ? {} : { fsync: "off", synchronous_commit: "off", full_page_writes: "off" }),
    ...options.settings,
  };
  let port = 0;
  let stopped = false;
  let up = false;
  const flags = () => [`-p ${port}`, ...Object.entries(settings).map(([name, value]) => `-c ${name}=${value}`)].join(" ");
  const start = () => {
    run("pg_ctl", ["-D", data, "-o", flags(), "-l", log, "-w", "-t", "60", "start"], 90_000);
    up = true;
  };
  const restartImmediate = () =>
    new Promise<void>((resolve, reject) => {
      const args = ["-D", data, "-m", "immediate", "-o", flags(), "-l", log, "-w", "-t", "60", "restart"];
      const [command, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", join(bin, "pg_ctl"), ...args]] : [join(bin, "pg_ctl"), args];
      const child = spawn(command, argv, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
      let err = "";
      child.stderr!.on("data", (chunk: Buffer) => (err += chunk.toString()));
      const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        up = true;
        if (code === 0) resolve();
        else reject(new Error(`pg_ctl restart -m immediate failed (${code ?? signal}): ${err}`));
      });
    });
  const stopNow = (mode: "fast" | "immediate") => {
    if (!up) return;
    up = false;
    try {
      run("pg_ctl", ["-D", data, "-m", mode, "-w", "-t", "60", "stop"], 90_000);
    } catch {
      // Already gone.
    }
  };
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      start();
      break;
    } catch (error) {
      // Another process took the port between the probe and the start: try another.
      if (attempt >= 3) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
  // Should this process die without running its exit hooks, a shell that outlives it stops the server.
  const watchdog = spawn(
    "sh",
    [
      "-c",
      `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ${asRoot ? "runuser -u postgres -- " : ""}${join(bin, "pg_ctl")} -D '${data}' -m immediate stop >/dev/null 2>&1; rm -rf '${dir}'`,
    ],
    { detached: true, stdio: "ignore" },
  );
  watchdog.unref();
  const server: PgServer = {
    port,
    url: (database = "postgres") => `postgres://${PG_ROLE}@127.0.0.1:${port}/${database}`,
    createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`database name ${name}: lower-case letters, digits and _ only`);
      run("psql", [
        "-h",
        dir,
        "-p",
        String(port),
        "-U",
        PG_ROLE,
        "-d",
        "postgres",
        "-v",
        "ON_ERROR_STOP=1",
        "-q",
        "-c",
        `CREATE DATABASE ${name}`,
      ]);
    },
    filesAtRest() {
      const chunks: Buffer[] = [];
      const walk = (folder: string) => {
        for (const entry of readdirSync(folder, { withFileTypes: true })) {
          const path = join(folder, entry.name);
          if (entry.isDirectory()) walk(path);
          else if (entry.isFile()) chunks.push(readFileSync(path));
        }
      };
      walk(data);
      return Buffer.concat(chunks);
    },
    stopServer: () => stopNow("fast"),
    startServer: start,
    restartImmediate,
    stop() {
      if (stopped) return;
      stopped = true;
      running.delete(server);
      stopNow("immediate");
      try {
        process.kill(-watchdog.pid!, "SIGKILL");
      } catch {
        // Already gone.
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  running.add(server);
  installExitHooks();
  return server;
}
