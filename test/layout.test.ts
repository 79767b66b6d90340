// The code's layout (issue 17): the bank as rooms a reader can name, files a screenful of ideas, no
// import circles, the front ends' shared defaults below them. Read from the sources as text: each
// rule here is one a later change could break without any behaviour changing.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

function sources(folder: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, folder))) {
    const path = join(folder, name);
    if (statSync(join(root, path)).isDirectory()) out.push(...sources(path));
    else if (name.endsWith(".ts")) out.push(path);
  }
  return out.sort();
}

/** The relative modules a file imports (static, re-exports and dynamic), as paths from the repository's root. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), "utf8");
  const found = new Set<string>();
  for (const match of text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)) {
    found.add(relative(root, resolve(root, dirname(file), match[1])).replace(/\.js$/, ".ts"));
  }
  return [...found];
}

/** Every import circle among `files` (each as the list of files round it), by depth-first search. */
function circles(files: string[], edges: (file: string) => string[] = importsOf): string[][] {
  const inside = new Set(files);
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (file: string) => {
    state.set(file, "open");
    path.push(file);
    for (const next of edges(file).filter((f) => inside.has(f))) {
      if (state.get(next) === "open") found.push([...path.slice(path.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(file, "done");
  };
  for (const file of files) if (!state.has(file)) visit(file);
  return found;
}

describe("layout (issue 17)", () => {
  const bank = sources("host/bank");

  it("no file in host/bank/ is over 500 lines", () => {
    const long = bank
      .map((file) => ({ file, lines: readFileSync(join(root, file), "utf8").split("\n").length - 1 }))
      .filter(({ lines }) => lines > 500);
    expect(long).toEqual([]);
  });

  it("no circle of imports among host/bank files", () => {
    expect(circles(bank)).toEqual([]);
  });

  it("the circle finder finds the circle openStore in store.ts used to make (the check above can fail)", () => {
    const before: Record<string, string[]> = {
      "host/bank/store.ts": ["host/bank/sqlite/store.ts"],
      "host/bank/sqlite/store.ts": ["host/bank/store.ts", "host/bank/sqlite/engine.ts"],
      "host/bank/sqlite/engine.ts": ["host/bank/store.ts"],
    };
    const found = circles(Object.keys(before), (f) => before[f]);
    expect(found).toContainEqual(["host/bank/store.ts", "host/bank/sqlite/store.ts", "host/bank/store.ts"]);
    expect(found).toContainEqual(["host/bank/store.ts", "host/bank/sqlite/store.ts", "host/bank/sqlite/engine.ts", "host/bank/store.ts"]);
  });

  it("a room imports no other room: only rooms/shared.ts and the bank's lower modules", () => {
    const rooms = bank.filter((f) => f.startsWith("host/bank/rooms/") && !f.endsWith("/shared.ts"));
    expect(rooms.length).toBeGreaterThanOrEqual(8);
    for (const room of rooms) {
      const others = importsOf(room).filter((f) => f.startsWith("host/bank/rooms/") && f !== "host/bank/rooms/shared.ts");
      expect(others, room).toEqual([]);
    }
    // The store interface imports no store, and no store imports the factory.
    expect(importsOf("host/bank/store.ts").filter((f) => f.startsWith("host/bank/"))).toEqual([]);
    for (const file of bank.filter((f) => /host\/bank\/(sqlite|postgres)\//.test(f))) {
      expect(importsOf(file), file).not.toContain("host/bank/open-store.ts");
    }
  });

  it("nothing outside host/cli/ imports from it but the command's entry (host/cli.ts), which dispatches into it", () => {
    const outside = [...sources("host"), ...sources("web")].filter((f) => !f.startsWith("host/cli/") && f !== "host/cli.ts");
    const reaching = outside.flatMap((file) =>
      importsOf(file)
        .filter((f) => f.startsWith("host/cli/"))
        .map((f) => `${file} -> ${f}`),
    );
    expect(reaching).toEqual([]);
  });
});
