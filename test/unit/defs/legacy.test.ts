/** Files written for the bash tool load unchanged; their old spellings are hints, never errors. */
import { expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Diagnostic } from "../../../src/defs/diagnostics.ts";
import { findTarget } from "../../../src/defs/find.ts";
import { buildPlan } from "../../../src/defs/resolve.ts";
import { tempRoot } from "../../helpers.ts";

function write(root: string, rel: string, text: string) {
  const p = join(root, ".claude/pipelines", rel);
  mkdirSync(join(p, ".."), { recursive: true });
  writeFileSync(p, text);
}

test("a v2 loop.yaml-style stage (completion, top-level min_iterations, output_parse) loads with hints", () => {
  using root = tempRoot({ git: false });
  write(root.path, "stages/improve/stage.yaml", 'name: improve\ndescription: d\ncompletion: plateau\nmin_iterations: 2\ndelay: 2\noutput_parse: "plateau:PLATEAU reasoning:REASONING"\n');
  write(root.path, "stages/improve/prompt.md", "Session ${SESSION}, status ${RESULT}, progress ${PROGRESS_FILE}, index ${INDEX}\n");
  const out: Diagnostic[] = [];
  const plan = buildPlan(root.path, findTarget(root.path, "improve"), { session: "s" }, out);
  expect(out.filter((d) => d.level === "error")).toEqual([]);
  expect(out.filter((d) => d.level === "hint").length).toBeGreaterThanOrEqual(6);
  const node = plan!.nodes[0]!;
  if (node.kind !== "stage") throw new Error("stage expected");
  expect(node.termination).toMatchObject({ type: "judgment", min_iterations: 2, consensus: 2 });
});

test("a legacy pipeline (version, stages:, name:, inline prompt, context with ${SESSION_NAME}) loads", () => {
  using root = tempRoot({ git: false });
  write(root.path, "stages/work/stage.yaml", "completion: beads-empty\ncheck_before: true\n");
  write(root.path, "stages/work/prompt.md", "Work ${ITERATION}\n");
  write(
    root.path,
    "old.yaml",
    "version: 1\nname: old\nstages:\n  - name: first\n    stage: work\n    runs: 3\n    context: |\n      use pipeline/${SESSION_NAME}\n  - name: second\n    prompt: |\n      Summarise ${INPUTS} into ${OUTPUT}\n    runs: 1\n    inputs:\n      from: first\n      select: latest\n",
  );
  const out: Diagnostic[] = [];
  const plan = buildPlan(root.path, findTarget(root.path, "old"), { session: "s" }, out);
  expect(out.filter((d) => d.level === "error")).toEqual([]);
  expect(plan!.nodes.map((n) => n.id)).toEqual(["first", "second"]);
  const [first, second] = plan!.nodes;
  if (first?.kind !== "stage" || second?.kind !== "stage") throw new Error("stages expected");
  expect(first.termination.type).toBe("queue");
  expect(first.termination.command).toEqual(["bd", "ready", "--label=pipeline/${SESSION_NAME}"]);
  expect(second.prompt).toBe("Summarise ${INPUTS} into ${OUTPUT}\n");
  expect(second.inputs.from).toBe("first");
});

test("an inline prompt's unknown variable is reported at its line in the pipeline file", () => {
  using root = tempRoot({ git: false });
  write(root.path, "p.yaml", "nodes:\n  - id: only\n    prompt: |\n      fine ${CTX}\n      bad ${NOPE}\n");
  const out: Diagnostic[] = [];
  buildPlan(root.path, findTarget(root.path, "p"), { session: "s" }, out);
  const e = out.find((d) => d.level === "error");
  expect(e?.message).toContain("${NOPE}");
  expect(e?.line).toBe(5);
});
