import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { library } from "../../../pipelines/index.ts";
import type { Diagnostic } from "../../../src/defs/diagnostics.ts";
import { lintAll, lintTarget, type LintReport } from "../../../src/defs/lint.ts";
import { findTarget } from "../../../src/defs/find.ts";
import { buildPlan } from "../../../src/defs/resolve.ts";
import { tempRoot } from "../../helpers.ts";
import { BROKEN, GOOD, LEGACY, writeTree } from "./fixtures.ts";

const P = ".claude/pipelines/";
const all = (r: LintReport) => r.definitions.flatMap((d) => d.problems);
const def = (r: LintReport, kind: string, name: string) => r.definitions.find((d) => d.kind === kind && d.name === name)!;
/** The one problem at file:line; its field and level are then asserted whole. */
function at(r: LintReport, file: string, line: number | undefined, field?: string): Diagnostic {
  const found = all(r).filter((p) => p.file === P + file && p.line === line && (field === undefined || p.field === field));
  if (found.length !== 1) throw new Error(`expected one problem at ${file}:${line} ${field ?? ""}, found ${JSON.stringify(found)}\nall: ${JSON.stringify(all(r), null, 1)}`);
  // A copy: bun 1.4's toMatchObject writes asymmetric matchers into the object it checks.
  return { ...found[0]! };
}

describe("lint of a tree with one problem of each kind", () => {
  const root = tempRoot({ git: false });
  afterAll(() => root[Symbol.dispose]());
  writeTree(root.path, BROKEN);
  mkdirSync(join(root.path, P, "stages", "stray"));
  const r = lintAll(root.path, false);

  test("unknown field (a typo) in stage.yaml, with a suggestion", () => {
    expect(at(r, "stages/typo/stage.yaml", 5)).toEqual({ level: "error", file: P + "stages/typo/stage.yaml", line: 5, field: "termination.maxx", message: "unknown field maxx (did you mean max?)" });
  });
  test("unknown field in a pipeline node", () => {
    expect(at(r, "nodetypo.yaml", 4)).toMatchObject({ level: "error", field: "nodes[0].runz", message: expect.stringContaining("unknown field runz") });
  });
  test("YAML syntax error", () => {
    expect({ ...all(r).find((p) => p.file === P + "stages/badyaml/stage.yaml") }).toMatchObject({ level: "error", line: 4, message: expect.stringMatching(/^YAML: /) });
  });
  test("unknown template variable, at its line in prompt.md; the $${X} escape is not one", () => {
    expect(at(r, "stages/badvar/prompt.md", 3)).toMatchObject({ level: "error", field: "${BOGUS}", message: "unknown template variable ${BOGUS}" });
    expect(all(r).some((p) => p.message.includes("ALSO_FINE"))).toBe(false);
  });
  test("missing prompt", () => {
    expect(at(r, "stages/noprompt/stage.yaml", 1)).toMatchObject({ level: "error", field: "prompt", message: expect.stringContaining("prompt.md not found") });
  });
  test("termination fields that do not fit the type, in a stage and in a node", () => {
    expect(at(r, "stages/badterm/stage.yaml", 5)).toMatchObject({ level: "error", field: "termination.consensus", message: expect.stringContaining("only to judgment") });
    expect(at(r, "nodeterm.yaml", 6)).toMatchObject({ level: "error", field: "nodes[0].termination.min_iterations" });
  });
  test("a provider that does not exist, in a stage and in a parallel block", () => {
    expect(at(r, "stages/badprov/stage.yaml", 2)).toMatchObject({ level: "error", field: "provider", message: 'expected claude, codex or command (got "gemini")' });
    expect(at(r, "badblock.yaml", 4)).toMatchObject({ level: "error", field: "nodes[0].parallel.providers[1]", message: expect.stringContaining("gemini") });
  });
  test("unknown stage", () => {
    expect(at(r, "unknown-stage.yaml", 4)).toMatchObject({ level: "error", field: "nodes[0].stage", message: "unknown stage nope" });
  });
  test("duplicate node id", () => {
    expect(at(r, "dup.yaml", 6)).toMatchObject({ level: "error", field: "nodes[2].id", message: expect.stringContaining("duplicate node id a") });
  });
  test("input from a later node and from an unknown node", () => {
    expect(at(r, "order.yaml", 5)).toMatchObject({ level: "error", field: "nodes[0].inputs.from", message: expect.stringContaining("runs later") });
    expect(at(r, "order.yaml", 9)).toMatchObject({ level: "error", field: "nodes[1].inputs.from", message: "input from unknown node ghost" });
  });
  test("from_parallel that names no stage of the block", () => {
    expect(at(r, "fromparallel.yaml", 10)).toMatchObject({ level: "error", field: "nodes[1].inputs.from_parallel", message: expect.stringContaining("no stage nothing") });
  });
  test("a queue stage without a command is a hint naming the bd default", () => {
    expect(at(r, "stages/queue/stage.yaml", 4)).toMatchObject({ level: "hint", field: "termination.command", message: expect.stringContaining("bd ready --label=pipeline/${SESSION_NAME}") });
    expect(def(r, "stage", "queue").ok).toBe(true);
  });
  test("a stage folder without stage.yaml is a warning", () => {
    expect(def(r, "stage", "stray")).toMatchObject({ ok: true, problems: [{ level: "warning", file: P + "stages/stray/" }] });
  });
  test("a pipeline using a broken stage gets one error at the node; the stage's own problems stay under the stage", () => {
    expect(def(r, "pipeline", "uses-broken").problems).toEqual([
      { level: "error", file: P + "uses-broken.yaml", line: 3, field: "nodes[0].stage", message: "stage badvar has 1 error (listed under stage badvar)" },
    ]);
  });
  test("verdicts and totals", () => {
    const failing = r.definitions.filter((d) => !d.ok).map((d) => `${d.kind} ${d.name}`).sort();
    expect(failing).toEqual(
      ["badblock", "dup", "fromparallel", "nodeterm", "nodetypo", "order", "unknown-stage", "uses-broken"].map((n) => `pipeline ${n}`)
        .concat(["badprov", "badterm", "badvar", "badyaml", "noprompt", "typo"].map((n) => `stage ${n}`)).sort(),
    );
    expect(r.ok).toBe(false);
    expect(r.errors).toBe(all(r).filter((p) => p.level === "error").length);
    expect(r.warnings).toBe(1);
    expect(def(r, "stage", "good")).toMatchObject({ ok: true, problems: [] });
  });
  test("--strict turns a warning into a failure", () => {
    expect(def(lintAll(root.path, true), "stage", "stray").ok).toBe(false);
  });
  test("one target: a pipeline's lint shows the problems of the stages it uses", () => {
    const one = lintTarget(root.path, findTarget(root.path, "uses-broken"), false);
    expect(one.definitions).toHaveLength(1);
    expect(one.definitions[0]!.problems).toEqual([expect.objectContaining({ file: P + "stages/badvar/prompt.md", line: 3, level: "error" })]);
  });
  test("lint and start see the same errors (both go through buildPlan)", () => {
    const out: Diagnostic[] = [];
    buildPlan(root.path, findTarget(root.path, "order"), { session: "x", resolveBins: false }, out);
    expect(out.filter((d) => d.level === "error")).toEqual(def(r, "pipeline", "order").problems.filter((p) => p.level === "error"));
  });
});

test("every built-in definition passes lint without errors, warnings or hints", () => {
  using root = tempRoot({ git: false });
  const r = lintAll(root.path, true);
  const builtins = Object.keys(library).filter((k) => k.endsWith(".yaml")).length;
  expect(r.definitions).toHaveLength(builtins);
  expect(all(r)).toEqual([]);
  expect(r).toMatchObject({ ok: true, errors: 0, warnings: 0, hints: 0 });
});

describe("the bash tool's spellings load with hints only", () => {
  const root = tempRoot({ git: false });
  afterAll(() => root[Symbol.dispose]());
  writeTree(root.path, LEGACY);
  const r = lintAll(root.path, true);
  const hints = all(r);

  test("no errors or warnings", () => {
    expect(hints.filter((p) => p.level !== "hint")).toEqual([]);
    expect(r.ok).toBe(true);
  });
  test.each([
    ["old.yaml", 5, "stages", "'nodes:'"],
    ["old.yaml", 6, "stages[0].name", "'id:'"],
    ["old.yaml", 11, "stages[1].loop", "'stage:'"],
    ["stages/work/stage.yaml", 4, "completion", "'termination.type'"],
    ["stages/work/stage.yaml", 5, "check_before", "always check"],
    ["stages/work/stage.yaml", 4, "termination.command", "bd ready"],
    ["stages/plan/stage.yaml", 5, "termination.iterations", "'termination.max'"],
    ["stages/work/prompt.md", 1, "${SESSION}", "${SESSION_NAME}"],
    ["stages/work/prompt.md", 1, "${INDEX}", "${ITERATION}"],
    ["stages/work/prompt.md", 2, "${PROGRESS_FILE}", "${PROGRESS}"],
    ["stages/work/prompt.md", 2, "${OUTPUT_PATH}", "${OUTPUT}"],
    ["stages/work/prompt.md", 3, "${RESULT}", "${STATUS}"],
  ] as const)("%s:%d %s names the modern spelling", (file, line, field, modern) => {
    expect(at(r, file, line, field)).toMatchObject({ level: "hint", message: expect.stringContaining(modern) });
  });
  test("and resolve to the modern plan", () => {
    const out: Diagnostic[] = [];
    const plan = buildPlan(root.path, findTarget(root.path, "old"), { session: "old", resolveBins: false }, out)!;
    const [plan0, work] = plan.nodes;
    expect(plan0).toMatchObject({ kind: "stage", id: "plan", stage: "plan", termination: { type: "fixed", max: 5 } });
    expect(work).toMatchObject({ kind: "stage", id: "work", stage: "work", termination: { type: "queue", max: 5, command: ["bd", "ready", "--label=pipeline/${SESSION_NAME}"] }, inputs: { from: "plan", select: "latest" } });
  });
});

test("a good tree lints clean", () => {
  using root = tempRoot({ git: false });
  writeTree(root.path, { ...GOOD, "p.yaml": "nodes:\n  - id: a\n    stage: good\n  - id: b\n    stage: good\n    inputs: { from: a }\n" });
  const r = lintAll(root.path, true);
  expect(all(r)).toEqual([]);
  expect(r.ok).toBe(true);
});

test("an output_path outside the project root is a warning at its line", () => {
  using root = tempRoot({ git: false });
  writeTree(root.path, {
    ["stages/out/stage.yaml"]: "provider: command\ncommand: \"true\"\noutput_path: ../elsewhere/${SESSION_NAME}.md\n",
    ["stages/out/prompt.md"]: "go\n",
    ["stages/ok/stage.yaml"]: "provider: command\ncommand: \"true\"\noutput_path: docs/${SESSION_NAME}.md\n",
    ["stages/ok/prompt.md"]: "go\n",
  });
  const r = lintAll(root.path, false);
  expect(def(r, "stage", "out").problems).toEqual([{ level: "warning", file: `${P}stages/out/stage.yaml`, line: 3, field: "output_path", message: "output_path ../elsewhere/${SESSION_NAME}.md is outside the project root: agents write there" }]);
  expect(def(r, "stage", "ok").problems).toEqual([]);
});

describe("every problem in one run, no follow-on errors", () => {
  test("a field typo in stage.yaml does not hide the prompt's unknown variable, and both get suggestions", () => {
    using root = tempRoot({ git: false });
    writeTree(root.path, {
      "stages/two/stage.yaml": "provider: command\ncommand: x\ntermination: { type: fixed, maxx: 3 }\n",
      "stages/two/prompt.md": "line one\nWrite ${STATUSS}.\n",
    });
    const problems = def(lintAll(root.path, false), "stage", "two").problems.map((p) => [p.file, p.line, p.message]);
    expect(problems).toEqual([
      [`${P}stages/two/prompt.md`, 2, "unknown template variable ${STATUSS} (did you mean ${STATUS}?)"],
      [`${P}stages/two/stage.yaml`, 3, "unknown field maxx (did you mean max?)"],
    ]);
  });

  test("a broken node is reported once: a later node's input from it is no second error; an unknown stage gets a suggestion", () => {
    using root = tempRoot({ git: false });
    writeTree(root.path, {
      "p.yaml": "nodes:\n  - { id: first, stage: demo, runz: 2 }\n  - { id: second, stage: demo, inputs: { from: first } }\n  - { id: third, stage: demoo }\n",
    });
    const problems = def(lintAll(root.path, false), "pipeline", "p").problems.filter((p) => p.level === "error").map((p) => [p.line, p.message]);
    expect(problems).toEqual([
      [2, expect.stringContaining("unknown field runz")],
      [4, "unknown stage demoo (did you mean demo?)"],
    ]);
  });
});
