/** The GitHub workflows cannot run here: they must parse, and every command they call must exist. */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import pkg from "../../../package.json";
import { commands } from "../../../src/commands/index.ts";
import { splitWords } from "../../../src/lib/shellwords.ts";
import { REPO } from "../../helpers.ts";

const workflow = (name: string) => parse(readFileSync(join(REPO, ".github", "workflows", name), "utf8"));
/** Every `run:` script of every step, by job. */
const scripts = (wf: any): string[] => Object.values(wf.jobs).flatMap((job: any) => job.steps.flatMap((s: any) => (s.run ? [s.run] : [])));

test("both workflows parse, have jobs with steps, and each step runs or uses something", () => {
  for (const name of ["release.yml", "example-sessions.yml"]) {
    const wf = workflow(name);
    expect(wf.on).toBeTruthy();
    for (const job of Object.values(wf.jobs) as any[]) {
      expect(job["runs-on"]).toBeTruthy();
      for (const step of job.steps) expect(Boolean(step.run) !== Boolean(step.uses)).toBe(true);
    }
  }
});

test("every `bun run <script>` the workflows call is a package.json script", () => {
  const called = ["release.yml", "example-sessions.yml"].flatMap((n) => scripts(workflow(n))).flatMap((s) => [...s.matchAll(/\bbun run ([\w:.-]+)/g)].map((m) => m[1]!));
  expect(called).toContain("release");
  expect(called.filter((s) => !(s in pkg.scripts))).toEqual([]);
});

test("the release job runs on a version tag and attaches what bun run release writes", () => {
  const wf = workflow("release.yml");
  expect(wf.on.push.tags).toEqual(["v*"]);
  expect(wf.jobs.test.strategy.matrix.os).toEqual(["ubuntu-latest", "macos-latest"]);
  const attach = scripts({ jobs: { release: wf.jobs.release } }).find((s) => s.startsWith("gh release create"))!;
  expect(attach.split(" ").filter((w) => w.startsWith("dist/release/"))).toEqual(["dist/release/*.tar.gz", "dist/release/get-sessions", "dist/release/SHA256SUMS"]);
});

// `report` comes with issue 11, built in parallel: drop it from here once it is in the command index.
const PENDING = new Set(["report"]);

test("every sessions command the example runs is a verb with those flags", async () => {
  const calls = scripts(workflow("example-sessions.yml"))
    .flatMap((s) => s.split("\n"))
    .filter((l) => l.startsWith("scripts/sessions "))
    .map((l) => splitWords(l.replace(/\$\{\{[^}]*\}\}/g, "x").split(" >>")[0]!));
  expect(calls.map((c) => c[1])).toContain("start");
  for (const [, verb, ...rest] of calls) {
    if (PENDING.has(verb!)) continue;
    expect(Object.keys(commands)).toContain(verb!);
    const def = (await commands[verb as keyof typeof commands]()).default as { args: Record<string, unknown> };
    const flags = rest.filter((w) => w.startsWith("--")).map((w) => w.slice(2));
    expect(flags.filter((f) => !(f in def.args))).toEqual([]);
  }
});
