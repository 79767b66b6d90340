// A summary of V8 CPU profiles (.cpuprofile, as `node --cpu-prof` writes them; the bench servers with
// BENCH_CPU_PROF=DIR): the functions with the most self time and the most inclusive time (the time
// with everything they called, each sample counted once per function however deep its recursion),
// as a share of the profile's busy time (idle and garbage collection shown apart).
//
//   node dist/bench/cpu-profile.js FILE.cpuprofile [more ...] [--top 30] [--match TEXT]
//
// Several files are summed (every server process of a run). --match keeps the functions whose
// name or URL contains TEXT (in both tables). A third table sums self time by where the code lives:
// a package of node_modules, a file of this project, node's own (node:), native code (no URL).
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

interface Totals {
  self: Map<string, number>;
  /** Self time by package or file (where()). */
  places: Map<string, number>;
  inclusive: Map<string, number>;
  all: number;
  idle: number;
  gc: number;
}

/** Where a function's code lives: "node_modules/<package>", a project file (from host/ or bench/ on), "node:", or "(native)". */
function where(url: string): string {
  if (url === "") return "(native)";
  if (url.startsWith("node:")) return "node:";
  const modules = url.lastIndexOf("node_modules/");
  if (modules >= 0) {
    const parts = url.slice(modules + "node_modules/".length).split("/");
    return `node_modules/${parts[0].startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]}`;
  }
  const own = /\/((?:host|bench)\/.*)$/.exec(url);
  return own ? own[1] : url;
}

/** A function's name as the tables show it: name, file (last two parts of its path) and line. */
function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url.split("/").slice(-2).join("/");
  return `${functionName || "(anonymous)"}${file ? ` ${file}:${lineNumber + 1}` : ""}`;
}

function add(totals: Totals, profile: Profile): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  profile.samples.forEach((id, i) => {
    const micros = profile.timeDeltas[i] ?? 0;
    const node = byId.get(id);
    if (!node) return;
    totals.all += micros;
    const name = node.callFrame.functionName;
    if (name === "(idle)" || name === "(program)") {
      totals.idle += micros;
      return;
    }
    if (name === "(garbage collector)") totals.gc += micros;
    const own = label(node);
    totals.self.set(own, (totals.self.get(own) ?? 0) + micros);
    const place = where(node.callFrame.url);
    totals.places.set(place, (totals.places.get(place) ?? 0) + micros);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const l = label(byId.get(at)!);
      if (seen.has(l)) continue;
      seen.add(l);
      totals.inclusive.set(l, (totals.inclusive.get(l) ?? 0) + micros);
    }
  });
}

function main(): void {
  const { values, positionals } = parseArgs({
    options: { top: { type: "string" }, match: { type: "string" } },
    allowPositionals: true,
  });
  if (positionals.length === 0) {
    console.error("usage: node dist/bench/cpu-profile.js FILE.cpuprofile [more ...] [--top N] [--match TEXT]");
    process.exitCode = 2;
    return;
  }
  const top = Number(values.top ?? 30);
  const totals: Totals = { self: new Map(), places: new Map(), inclusive: new Map(), all: 0, idle: 0, gc: 0 };
  for (const file of positionals) add(totals, JSON.parse(readFileSync(file, "utf8")) as Profile);
  const busy = totals.all - totals.idle;
  const ms = (micros: number) => (micros / 1000).toFixed(0).padStart(8);
  const share = (micros: number) => `${((100 * micros) / busy).toFixed(1).padStart(5)} %`;
  console.log(
    `${positionals.length} profile${positionals.length === 1 ? "" : "s"}: ${(totals.all / 1e6).toFixed(2)} s sampled, ` +
      `busy ${(busy / 1e6).toFixed(2)} s (idle and (program) ${(totals.idle / 1e6).toFixed(2)} s), garbage collection ${share(totals.gc).trim()} of busy`,
  );
  const keep = (name: string) => values.match === undefined || name.includes(values.match);
  for (const [title, map] of [
    ["self", totals.self],
    ["inclusive", totals.inclusive],
    ["self, by package or file", totals.places],
  ] as const) {
    console.log(`\n${title} time (ms, share of busy):`);
    const rows = [...map.entries()].filter(([name]) => keep(name)).sort((a, b) => b[1] - a[1]);
    for (const [name, micros] of rows.slice(0, top)) console.log(`${ms(micros)} ${share(micros)}  ${name}`);
  }
}

main();
