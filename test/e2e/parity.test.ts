/** Pipelines written for the bash tool run unchanged: cross-evaluation, stage folders, pipeline runs. */
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { historyOf, privateTmux, readJson, runDir, sessions, tempRoot, until } from "../helpers.ts";
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

test.concurrent("a pipeline with runs: 2 runs twice, each run in its own folder; killed in run 2 and resumed, it continues run 2", async () => {
  using root = tempRoot({ git: false });
  // The agent counts its runs; the 4th (run 2, node b) hangs until the test lets it go.
  const count = join(root.path, "count");
  const agent = join(root.path, "agent.sh");
  writeFileSync(
    agent,
    `#!/bin/sh\nn=$(cat ${count} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${count}\n[ "$n" = 4 ] && exec sleep 300\nprintf '{"decision":"continue","reason":"r","summary":"run %s"}' "$n" > "$PIPELINE_STATUS"\n`,
    { mode: 0o755 },
  );
  writeTree(root.path, {
    "stages/s/stage.yaml": `provider: command\ncommand: ${agent}\ntermination: { type: fixed, max: 1 }\ndelay: 0\n`,
    "stages/s/prompt.md": "Write ${STATUS}.\n",
    "twice.yaml": "name: twice\nruns: 2\nnodes:\n  - { id: a, stage: s }\n  - { id: b, stage: s, inputs: { from: a } }\n",
  });
  const started = await sessions(["start", "twice", "--root", root.path], { tmux: tmux.dir });
  started.expectExit(0);
  const state = () => readJson(join(runDir(root.path, "twice"), "state.json"));
  await until(async () => existsSync(count) && readFileSync(count, "utf8").trim() === "4" && (await state()).current_stage === 1, 15_000, "run 2's node b");
  expect(await state()).toMatchObject({ run: 2, runs: 2, status: "running", stages: [{ id: "a", status: "complete" }, { id: "b", status: "running" }] });
  (await sessions(["kill", "twice", "--yes", "--root", root.path], { tmux: tmux.dir })).expectExit(0);
  expect((await state()).status).toBe("killed");
  const resumed = await sessions(["resume", "twice", "--json", "--root", root.path], { tmux: tmux.dir });
  expect(resumed.json()).toMatchObject({ resumed_at: { run: 2, node: 1, id: "b", iteration: 1 } });
  resumed.expectExit(0);
  const done = await until(async () => ((await state()).status === "complete" ? state() : null), 15_000, "the resumed session to complete");
  expect(done).toMatchObject({ run: 2, runs: 2, stages: [{ id: "a", status: "complete" }, { id: "b", status: "complete" }] });
  // Run 1 and run 2's node a were not run again: five agent runs in all.
  expect(readFileSync(count, "utf8").trim()).toBe("5");
  expect(historyOf(root.path, "twice").filter((h) => h.decision !== "failed").map((h) => `${h.run ?? 1}/${h.stage}`)).toEqual(["1/a", "1/b", "2/a", "2/b"]);
  const dir = runDir(root.path, "twice");
  for (const run of ["run-01", "run-02"]) expect(existsSync(join(dir, run, "stage-01-b", "output.md"))).toBe(true);
  // Each run's node b reads its own run's node a.
  const ctx = await readJson(join(dir, "run-02", "stage-01-b", "iterations", "001", "context.json"));
  expect(ctx.run).toEqual({ index: 2, of: 2 });
  expect(ctx.inputs.from_stage.a).toEqual([join(dir, "run-02", "stage-00-a", "output.md")]);
  const status = await sessions(["status", "twice", "--root", root.path], { tmux: tmux.dir });
  expect(status.stdout).toMatch(/\n\s+run\s+2\/2\n/);
}, 60_000);

test.concurrent("--runs N on start runs a pipeline N times", async () => {
  using root = tempRoot({ git: false });
  const rec = join(root.path, "rec.jsonl");
  writeTree(root.path, {
    "stages/s/stage.yaml": `provider: command\ncommand: "\${SESSIONS_BIN} _agent --script stop --record ${rec}"\ntermination: { type: fixed, max: 1 }\ndelay: 0\n`,
    "stages/s/prompt.md": "Write ${STATUS}.\n",
    "once.yaml": "nodes:\n  - { id: a, stage: s }\n",
  });
  const r = await sessions(["start", "once", "--runs", "3", "--foreground", "--json", "--root", root.path], { tmux: tmux.dir });
  expect(r.json().status).toBe("complete");
  r.expectExit(0);
  expect(records(rec).map((x) => x.ctx.replace(runDir(root.path, "once"), ""))).toEqual([1, 2, 3].map((n) => `/run-0${n}/stage-00-a/iterations/001/context.json`));
}, 30_000);

test.concurrent("the built-in debate runs with claude and codex: each reads the other's proposal, then the critique of its own; the verdict reads all", async () => {
  using root = tempRoot({ git: false });
  const rec = join(root.path, "given.txt");
  const fake = join(root.path, "agent.sh");
  // Stands in for both CLIs: prints its document, records what it was given, writes its status.
  writeFileSync(
    fake,
    `#!/bin/sh\necho "$PIPELINE_STAGE by \${PIPELINE_PROVIDER:-lead}"\necho "$PIPELINE_STAGE \${PIPELINE_PROVIDER:-lead} $PIPELINE_CTX" >> ${rec}\nprintf '{"decision":"stop","reason":"r","summary":"s"}' > "$PIPELINE_STATUS"\n`,
    { mode: 0o755 },
  );
  const env = { SESSIONS_CLAUDE_BIN: fake, SESSIONS_CODEX_BIN: fake };
  const r = await sessions(["start", "debate", "--context", "tabs or spaces?", "--foreground", "--json", "--root", root.path], { tmux: tmux.dir, env });
  expect(r.json().status).toBe("complete");
  r.expectExit(0);
  const lines = readFileSync(rec, "utf8").trim().split("\n").map((l) => l.split(" "));
  expect(lines.map(([stage, who]) => `${stage}/${who}`).sort()).toEqual(["critique/claude", "critique/codex", "proposal/claude", "proposal/codex", "response/claude", "response/codex", "verdict/lead"]);
  const read = (stage: string, who: string) => {
    const ctx = JSON.parse(readFileSync(lines.find(([s, w]) => s === stage && w === who)![2]!, "utf8"));
    expect(ctx.context).toBe("tabs or spaces?");
    return ctx.inputs.from_parallel.flatMap((fp: any) => Object.keys(fp.providers).map((p) => `${fp.stage}/${p}`));
  };
  expect(read("critique", "claude")).toEqual(["proposal/codex"]);
  expect(read("response", "codex")).toEqual(["proposal/codex", "critique/claude"]);
  expect(read("verdict", "lead")).toEqual(["proposal/claude", "proposal/codex", "critique/claude", "critique/codex", "response/claude", "response/codex"]);
}, 60_000);
