/** Pipelines written for the bash tool run unchanged: cross-evaluation, stage folders, pipeline runs. */
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { privateTmux, runDir, sessions, tempRoot } from "../helpers.ts";
import { CROSS, writeTree } from "../unit/defs/fixtures.ts";

const tmux = privateTmux();
afterAll(() => tmux.kill());

const records = (file: string): any[] => (existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)) : []);

test.concurrent("a cross-evaluation pipeline runs: each provider is given exactly the outputs it names", async () => {
  using root = tempRoot({ git: false });
  const rec = join(root.path, "given.jsonl");
  writeTree(root.path, {
    "stages/s/stage.yaml": "termination: { type: fixed, max: 1 }\ndelay: 0\n",
    "stages/s/prompt.md": "Read ${INPUTS}; write ${STATUS}.\n",
    "cross.yaml": CROSS.replaceAll("command: agent", `command: "\${SESSIONS_BIN} _agent --script stop --record ${rec}"`),
  });
  const dry = await sessions(["start", "cross", "--dry-run", "--json", "--root", root.path], { tmux: tmux.dir });
  dry.expectExit(0);
  const planned = dry.json().plan.nodes[2].providers;
  expect(planned.map((p: any) => p.inputs.answer.from_parallel.map((f: any) => `${f.block}/${f.stage}:${f.providers?.join("+") ?? "all"}`))).toEqual([
    ["ideas/generate:claude", "evaluate/rate:codex"],
    ["ideas/generate:all", "evaluate/rate:claude"],
  ]);
  const r = await sessions(["start", "cross", "--foreground", "--json", "--root", root.path], { tmux: tmux.dir });
  expect(r.json().status).toBe("complete");
  r.expectExit(0);
  const run = runDir(root.path, "cross");
  const out = (block: string, provider: string, stage: string) => join(run, block, "providers", provider, stage, "output.md");
  const given = (stage: string, provider: string) => {
    const at = records(rec).find((x) => x.stage === stage && x.provider === provider);
    const ctx = JSON.parse(readFileSync(at.ctx, "utf8"));
    return ctx.inputs.from_parallel.flatMap((fp: any) => Object.values(fp.providers).map((p: any) => p.output));
  };
  expect(records(rec)).toHaveLength(7);
  expect(given("rate", "claude")).toEqual([out("parallel-00-ideas", "codex", "stage-00-generate")]);
  expect(given("rate", "codex")).toEqual([out("parallel-00-ideas", "claude", "stage-00-generate")]);
  expect(given("answer", "claude")).toEqual([out("parallel-00-ideas", "claude", "stage-00-generate"), out("parallel-01-evaluate", "codex", "stage-00-rate")]);
  expect(given("answer", "codex")).toEqual([out("parallel-00-ideas", "claude", "stage-00-generate"), out("parallel-00-ideas", "codex", "stage-00-generate"), out("parallel-01-evaluate", "claude", "stage-00-rate")]);
  expect(given("synth", "judge")).toHaveLength(4);
  for (const p of given("synth", "judge")) expect(existsSync(p)).toBe(true);
}, 60_000);

test.concurrent("a stage folder without a prompt is an invalid definition (exit 2), not a missing one", async () => {
  using root = tempRoot({ git: false });
  mkdirSync(join(root.path, ".claude", "pipelines", "stages", "work"), { recursive: true });
  const r = await sessions(["start", "work", "--dry-run", "--root", root.path], { tmux: tmux.dir });
  expect(r.stderr).toContain("stages/work: no prompt.md (or prompt: file)");
  r.expectExit(2);
  writeFileSync(join(root.path, ".claude", "pipelines", "stages", "work", "prompt.md"), "Write ${STATUS}.\n");
  const used = join(root.path, "p.yaml");
  writeFileSync(used, "nodes:\n  - { id: a, stage: work }\n");
  const lint = await sessions(["lint", used, "--root", root.path], { tmux: tmux.dir });
  expect(lint.stdout).toContain("stages/work: no stage.yaml");
  lint.expectExit(2);
}, 30_000);
