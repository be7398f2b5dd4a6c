import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import type { Diagnostic } from "../../../src/defs/diagnostics.ts";
import { check, parseYaml } from "../../../src/defs/load.ts";
import { ParallelNodeSchema, PipelineSchema, StageNodeSchema, StageSchema } from "../../../src/defs/schema.ts";

/** Parse YAML text and check it against a schema: the parsed value (or null) and every problem. */
function run<S extends v.GenericSchema>(schema: S, text: string, file = "stage.yaml") {
  const out: Diagnostic[] = [];
  const y = parseYaml(file, text, out);
  const value = y.doc ? check(schema, y, y.data ?? {}, [], out) : null;
  return { value, out };
}

describe("check(): valibot issues become problems with file, line and field", () => {
  test("an unknown key is 'unknown field <name>' at the key's line, with a suggestion for a typo", () => {
    const { value, out } = run(StageSchema, "description: x\nprovder: claude\ntermination:\n  type: fixed\n\n  maxx: 3\n  wibble: 1\n");
    expect(value).toBeNull();
    expect(out.toSorted((a, b) => a.line! - b.line!)).toEqual([
      { level: "error", file: "stage.yaml", line: 2, field: "provder", message: "unknown field provder (did you mean provider?)" },
      { level: "error", file: "stage.yaml", line: 6, field: "termination.maxx", message: "unknown field maxx (did you mean max?)" },
      { level: "error", file: "stage.yaml", line: 7, field: "termination.wibble", message: "unknown field wibble" },
    ]);
  });

  test("an unknown key with an empty value is still an unknown field, not a missing one", () => {
    expect(run(StageSchema, "delay: 1\nmodle:\n").out).toEqual([{ level: "error", file: "stage.yaml", line: 2, field: "modle", message: "unknown field modle (did you mean model?)" }]);
  });

  test("a mapping where a scalar was given is a type problem, not an unknown field", () => {
    expect(run(StageSchema, "name: ok\ntermination: 5\n").out).toEqual([
      { level: "error", file: "stage.yaml", line: 2, field: "termination", message: "expected a mapping (key: value), got 5" },
    ]);
    expect(run(StageSchema, "model:\n").out).toEqual([{ level: "error", file: "stage.yaml", line: 1, field: "model", message: "expected text, got nothing" }]);
  });

  test("a provider that does not exist names the value and the choices", () => {
    expect(run(StageSchema, "provider: gemini\n").out).toEqual([
      { level: "error", file: "stage.yaml", line: 1, field: "provider", message: 'expected claude, codex or command (got "gemini")' },
    ]);
  });

  test("provider unions in a parallel block report the branch that fits the value", () => {
    const text = "parallel:\n  providers:\n    - claude\n    - gemini\n    - { id: q, provider: nope }\n    - { id: r, comand: x }\n  stages: [ { id: s, stage: x } ]\n";
    expect(run(ParallelNodeSchema, text, "p.yaml").out).toEqual([
      { level: "error", file: "p.yaml", line: 4, field: "parallel.providers[1]", message: 'expected claude, codex or command (got "gemini")' },
      { level: "error", file: "p.yaml", line: 5, field: "parallel.providers[2].provider", message: 'expected claude, codex or command (got "nope")' },
      { level: "error", file: "p.yaml", line: 6, field: "parallel.providers[3].comand", message: "unknown field comand (did you mean command?)" },
    ]);
  });

  test("a node's typo is suggested from the node schema", () => {
    expect(run(StageNodeSchema, "id: a\nstage: b\nruns: 2\ninptus: { from: x }\n", "p.yaml").out).toEqual([
      { level: "error", file: "p.yaml", line: 4, field: "inptus", message: "unknown field inptus (did you mean inputs?)" },
    ]);
  });

  test("limits and custom messages come through", () => {
    const { out } = run(StageSchema, "termination:\n  max: 0\ndelay: -1\nname: Bad Name\n");
    expect(out.map((d) => [d.line, d.field, d.message]).sort((a, b) => (a[0] as number) - (b[0] as number))).toEqual([
      [2, "termination.max", "must be at least 1"],
      [3, "delay", "must not be negative"],
      [4, "name", "use lower-case letters, digits, '-' and '_' (at most 64)"],
    ]);
  });

  test("a YAML syntax error is reported at its line and nothing is checked", () => {
    const { value, out } = run(PipelineSchema, "name: p\nnodes:\n  - id: a\n    stage: [x\n", "p.yaml");
    expect(value).toBeNull();
    expect(out.length).toBeGreaterThan(0);
    expect(out.every((d) => d.level === "error" && d.file === "p.yaml" && d.message.startsWith("YAML: "))).toBe(true);
    expect(out[0]!.line).toBeGreaterThanOrEqual(4);
  });

  test("a duplicate key is a YAML error at the second key", () => {
    const { out } = run(StageSchema, "delay: 1\ntimeout: 2\ndelay: 3\n");
    expect(out).toEqual([expect.objectContaining({ level: "error", line: 3 })]);
  });
});

describe("schemas", () => {
  test("a modern stage parses; provider aliases of the bash tool become provider names", () => {
    const { value, out } = run(StageSchema, "name: s\nprovider: claude-code\nmodel: opus\ntermination:\n  type: judgment\n  max: 10\n  min_iterations: 2\n  consensus: 2\n  judge: { provider: openai }\ndelay: 2\ntimeout: 60\noutput_path: docs/plan.md\n");
    expect(out).toEqual([]);
    expect(value).toMatchObject({ provider: "claude", termination: { type: "judgment", max: 10, judge: { provider: "codex" } } });
  });

  test("v2 completion names are accepted", () => {
    for (const c of ["fixed-n", "plateau", "beads-empty"]) expect(run(StageSchema, `completion: ${c}\n`).out).toEqual([]);
    expect(run(StageSchema, "completion: sometimes\n").out).toHaveLength(1);
  });

  test("a parallel block needs providers and stages", () => {
    const { out } = run(ParallelNodeSchema, "id: b\nparallel:\n  providers: []\n  stages: []\n", "p.yaml");
    expect(out.map((d) => d.message)).toEqual(["a parallel block needs at least one provider", "a parallel block needs at least one stage"]);
  });

  test("from_parallel as a string or as {stage, block, providers}", () => {
    expect(run(StageNodeSchema, "id: a\nstage: s\ninputs: { from_parallel: review }\n").out).toEqual([]);
    expect(run(StageNodeSchema, "id: a\nstage: s\ninputs: { from_parallel: { stage: review, block: dual, providers: [claude] } }\n").out).toEqual([]);
    expect(run(StageNodeSchema, "id: a\nstage: s\ninputs: { select: newest }\n").out).toEqual([
      { level: "error", file: "stage.yaml", line: 3, field: "inputs.select", message: 'expected latest or all (got "newest")' },
    ]);
  });

  test("pipelines accept nodes or the old stages list", () => {
    expect(run(PipelineSchema, "name: p\nstages:\n  - { name: a, stage: s }\n", "p.yaml").out).toEqual([]);
    expect(run(PipelineSchema, "name: p\nnodez: []\n", "p.yaml").out).toEqual([
      { level: "error", file: "p.yaml", line: 2, field: "nodez", message: "unknown field nodez (did you mean nodes?)" },
    ]);
  });
});
