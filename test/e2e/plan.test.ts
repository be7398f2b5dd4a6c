/** What start resolves before anything runs: the dry run shows exactly iteration 1's prompt; every executable is checked. */
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fakeStage, privateTmux, runDir, sessions, tempRoot } from "../helpers.ts";

const tmux = privateTmux();
afterAll(() => tmux.kill());

test.concurrent("--dry-run prints exactly the prompt iteration 1 gets: output_path expanded, ${INPUTS} and ${CONTEXT} as the engine fills them", async () => {
  using root = tempRoot({ git: false });
  fakeStage(root.path, "write", {
    script: "stop",
    extra: "output_path: docs/${SESSION_NAME}.md\ncontext: from the stage",
    prompt: "Out ${OUTPUT}\nIn:\n${INPUTS}\nCtx ${CONTEXT} ${CTX} ${STATUS} ${PROGRESS} ${ITERATION} ${SESSION_NAME}\n",
  });
  writeFileSync(join(root.path, "brief.md"), "the brief\n");
  const file = join(root.path, "p.yaml");
  writeFileSync(file, "nodes:\n  - { id: first, stage: write }\n  - { id: second, stage: write, inputs: { from: first } }\n");
  const args = [file, "doc", "--input", join(root.path, "brief.md"), "--root", root.path];
  const dry = await sessions(["start", ...args, "--dry-run", "--json"], { tmux: tmux.dir });
  dry.expectExit(0);
  const shown: string = dry.json().first_prompt;
  expect(shown).toContain(`Out ${join(root.path, "docs", "doc.md")}\n`);
  expect(shown).toContain(`In:\n${join(root.path, "brief.md")}\n`);
  const run = await sessions(["start", ...args, "--foreground", "--json"], { tmux: tmux.dir });
  run.expectExit(0);
  expect(readFileSync(join(runDir(root.path, "doc"), "stage-00-first", "iterations", "001", "prompt.md"), "utf8")).toBe(shown);
}, 30_000);

test.concurrent("a parallel block's provider that is not installed is exit 5 before anything is created", async () => {
  using root = tempRoot({ git: false });
  fakeStage(root.path, "step");
  const file = join(root.path, "dual.yaml");
  writeFileSync(file, "nodes:\n  - id: both\n    parallel:\n      providers: [codex]\n      stages: [ { id: s, stage: step } ]\n");
  const r = await sessions(["start", file, "--root", root.path], { tmux: tmux.dir, env: { SESSIONS_CODEX_BIN: "/nonexistent/codex" } });
  expect(r.stderr).toContain("codex is not installed");
  r.expectExit(5);
  expect(existsSync(runDir(root.path, "dual"))).toBe(false);
}, 30_000);

test.concurrent("plan.json records the absolute executable of every provider, parallel ones and judges included", async () => {
  using root = tempRoot({ git: false });
  const bin = join(root.path, "bin");
  mkdirSync(bin);
  for (const name of ["claude", "codex"]) writeFileSync(join(bin, name), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  fakeStage(root.path, "judged", { termination: "type: judgment\nmax: 3\njudge: { provider: codex }" });
  const file = join(root.path, "mix.yaml");
  writeFileSync(file, "nodes:\n  - { id: one, stage: judged }\n  - id: both\n    parallel:\n      providers: [claude, codex]\n      stages: [ { id: s, stage: judged } ]\n");
  const r = await sessions(["start", file, "--dry-run", "--json", "--root", root.path], { tmux: tmux.dir, env: { SESSIONS_CLAUDE_BIN: join(bin, "claude"), SESSIONS_CODEX_BIN: join(bin, "codex") } });
  r.expectExit(0);
  const { nodes } = r.json().plan;
  expect(nodes[0].termination.judge.bin).toBe(join(bin, "codex"));
  expect(nodes[1].providers.map((p: any) => p.provider.bin)).toEqual([join(bin, "claude"), join(bin, "codex")]);
  expect(nodes[1].stages[0].termination.judge.bin).toBe(join(bin, "codex"));
}, 30_000);

test.concurrent("--input of a file that does not exist is a usage error naming the flag, not a definition problem", async () => {
  using root = tempRoot({ git: false });
  fakeStage(root.path, "in");
  const r = await sessions(["start", "in", "--input", "nope.md", "--root", root.path], { tmux: tmux.dir, cwd: root.path });
  expect(r.stderr).toContain("--input nope.md does not exist");
  expect(r.stderr).not.toContain("lint");
  r.expectExit(2);
  expect(existsSync(runDir(root.path, "in"))).toBe(false);
}, 30_000);
