/** What each provider of a cross-evaluation pipeline is given: only the outputs it names. */
import { expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Diagnostic } from "../../../src/defs/diagnostics.ts";
import { findTarget } from "../../../src/defs/find.ts";
import { lintDefinition } from "../../../src/defs/lint.ts";
import { buildPlan } from "../../../src/defs/resolve.ts";
import { runPaths } from "../../../src/store/paths.ts";
import { iterationView, providerStageRun } from "../../../src/engine/view.ts";
import { tempRoot } from "../../helpers.ts";
import { CROSS, writeTree } from "../defs/fixtures.ts";


const STAGE = { "stages/s/stage.yaml": "termination: { type: fixed, max: 1 }\n", "stages/s/prompt.md": "Read ${INPUTS}; write ${STATUS}.\n" };

test("a four-block cross-evaluation pipeline lints clean, and each provider is given only what it names", () => {
  using root = tempRoot({ git: false });
  writeTree(root.path, { ...STAGE, "cross.yaml": CROSS });
  const t = findTarget(root.path, "cross");
  expect(lintDefinition(root.path, t).filter((d) => d.level !== "hint")).toEqual([]);
  const out: Diagnostic[] = [];
  const plan = buildPlan(root.path, t, { session: "x" }, out)!;
  const paths = runPaths(root.path, "x");
  const given = (node: number, p: number) => {
    const v = iterationView({ plan, paths, progress: () => undefined, contextOverride: null }, providerStageRun(plan, paths, 1, node, p, 0, root.path), 1);
    return { ctx: v.context.inputs.from_parallel.map((fp) => [fp.block, fp.stage, Object.keys(fp.providers)]), inputs: v.vars.INPUTS };
  };
  expect(given(0, 0).ctx).toEqual([]);
  expect(given(1, 0).ctx).toEqual([["ideas", "generate", ["codex"]]]);
  expect(given(1, 1).ctx).toEqual([["ideas", "generate", ["claude"]]]);
  expect(given(2, 0).ctx).toEqual([["ideas", "generate", ["claude"]], ["evaluate", "rate", ["codex"]]]);
  expect(given(2, 1).ctx).toEqual([["ideas", "generate", ["claude", "codex"]], ["evaluate", "rate", ["claude"]]]);
  // The block's own inputs, for a provider that names none.
  expect(given(3, 0).ctx).toEqual([["respond", "answer", ["claude", "codex"]], ["evaluate", "rate", ["claude", "codex"]]]);
  // ${INPUTS} lists the outputs given, once they exist.
  const rated = join(paths.dir, "parallel-01-evaluate", "providers", "codex", "stage-00-rate");
  mkdirSync(rated, { recursive: true });
  writeFileSync(join(rated, "output.md"), "codex's ratings\n");
  expect(given(2, 0).inputs).toBe(join(rated, "output.md"));
  expect(given(2, 1).inputs).toBe("");
});

test("lint names a from_parallel stage or provider no earlier block has, at its line", () => {
  using root = tempRoot({ git: false });
  const bad = CROSS.replace("providers: [codex] }\n        - name: codex", "providers: [gemini] }\n        - name: codex").replace("- { stage: rate, providers: [codex] }", "- { stage: answer, providers: [codex] }");
  writeTree(root.path, { ...STAGE, "cross.yaml": bad });
  const errors = lintDefinition(root.path, findTarget(root.path, "cross")).filter((d) => d.level === "error");
  expect(errors).toEqual([
    expect.objectContaining({ line: 16, field: "nodes[1].parallel.providers[0].inputs.from_parallel", message: expect.stringContaining("has no provider gemini") }),
    expect.objectContaining({ line: 33, field: "nodes[2].parallel.providers[0].inputs.from_parallel[1]", message: expect.stringContaining("no earlier parallel block with a stage answer") }),
  ]);
});
