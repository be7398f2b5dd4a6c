/** Imports point one way: cli → commands → sessions | engine → defs | store | tmux → lib. */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { REPO } from "../helpers.ts";

const SRC = join(REPO, "src");
const layer = (file: string): string => {
  const rel = relative(SRC, file);
  if (rel === "cli.ts" || rel === "main.ts") return "cli";
  if (rel === "tmux.ts") return "tmux";
  if (rel.startsWith("engine/providers/")) return "providers";
  return rel.split("/")[0]!;
};

/** What each layer may import (besides itself). */
const allowed: Record<string, string[]> = {
  cli: ["commands", "lib"],
  commands: ["sessions", "engine", "defs", "store", "tmux", "lib", "pipelines"],
  sessions: ["engine", "defs", "store", "tmux", "lib"],
  engine: ["providers", "defs", "store", "lib"],
  providers: ["engine", "defs", "store", "lib"],
  defs: ["store", "lib", "pipelines"],
  store: ["lib"],
  tmux: ["lib"],
  lib: [],
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });
}

const transpiler = new Bun.Transpiler({ loader: "ts" });

test("every import points down the layers", () => {
  const bad: string[] = [];
  for (const file of files(SRC)) {
    const from = layer(file);
    for (const imp of transpiler.scanImports(readFileSync(file, "utf8"))) {
      if (!imp.path.startsWith(".")) continue;
      const target = resolve(file, "..", imp.path);
      const to = target.startsWith(join(REPO, "pipelines")) ? "pipelines" : layer(target);
      if (to !== from && !allowed[from]!.includes(to)) bad.push(`${relative(REPO, file)} (${from}) imports ${imp.path} (${to})`);
    }
  }
  expect(bad).toEqual([]);
});

test("only src/tmux.ts runs tmux and only engine/providers spawn agents", () => {
  const offenders: string[] = [];
  for (const file of files(SRC)) {
    const text = readFileSync(file, "utf8");
    const rel = relative(SRC, file);
    if (rel !== "tmux.ts" && /\["tmux"|which\("tmux"\)/.test(text)) offenders.push(`${rel} runs tmux`);
    if (/detached:\s*true/.test(text) && !rel.startsWith("engine/providers/")) offenders.push(`${rel} spawns a process group`);
  }
  expect(offenders).toEqual([]);
});

test("only cli.ts decides the exit code", () => {
  const offenders = files(SRC).filter((f) => !f.endsWith("/cli.ts") && /process\.exit\(|process\.exitCode\s*=/.test(readFileSync(f, "utf8")));
  expect(offenders.map((f) => relative(REPO, f))).toEqual([]);
});
