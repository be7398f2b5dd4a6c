/** Multi-stage pipelines, parallel blocks, lint, the built-in library and the skill, through the compiled binary. */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fakeStage, gone, privateTmux, readJson, runDir, sessions, tempRoot, until } from "../helpers.ts";
import { BROKEN, writeTree } from "../unit/defs/fixtures.ts";

const tmux = privateTmux();
afterAll(() => tmux.kill());

const AGENT = "${SESSIONS_BIN} _agent";

/** One JSON line per agent run (pid, provider, iteration, cwd, …), written by the fake agent's --record. */
const records = (file: string): any[] =>
  existsSync(file)
    ? readFileSync(file, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l))
    : [];

function pipeline(root: string, name: string, yaml: string): string {
  const p = join(root, `${name}.yaml`);
  writeFileSync(p, yaml);
  return p;
}

async function foreground(root: string, target: string, session?: string) {
  const r = await sessions(["start", target, ...(session ? [session] : []), "--foreground", "--json", "--root", root], { tmux: tmux.dir });
  return { ...r, doc: r.stdout ? r.json() : null };
}

const iterationContext = (root: string, session: string, ...dirs: string[]) => readJson(join(runDir(root, session), ...dirs, "iterations", "001", "context.json"));

describe("multi-stage pipelines", () => {
  test("a node reads an earlier node's output through inputs.from", async () => {
    using root = tempRoot({ git: false });
    fakeStage(root.path, "step", { script: "continue", termination: "type: fixed\nmax: 1" });
    const file = pipeline(
      root.path,
      "three",
      "name: three\nnodes:\n  - id: first\n    stage: step\n  - id: second\n    stage: step\n    inputs: { from: first }\n  - id: third\n    stage: step\n",
    );
    const r = await foreground(root.path, file);
    expect(r.doc).toMatchObject({ session: "three", type: "pipeline", status: "complete" });
    expect(r.code).toBe(0);
    expect(r.doc.history.map((h: any) => [h.node, h.stage, h.iteration])).toEqual([
      [0, "first", 1],
      [1, "second", 1],
      [2, "third", 1],
    ]);
    const ctx = await iterationContext(root.path, "three", "stage-01-second");
    const fromFirst: string[] = ctx.inputs.from_stage.first;
    expect(fromFirst).toEqual([join(runDir(root.path, "three"), "stage-00-first", "output.md")]);
    expect(existsSync(fromFirst[0]!)).toBe(true);
    // A node without inputs gets none from earlier nodes.
    expect((await iterationContext(root.path, "three", "stage-02-third")).inputs.from_stage).toEqual({});
  }, 30_000);

  test("a parallel block gets an earlier node's output, and a later node the block's through from_parallel", async () => {
    using root = tempRoot({ git: false });
    fakeStage(root.path, "step", { script: "continue", termination: "type: fixed\nmax: 1" });
    const file = pipeline(
      root.path,
      "fan",
      [
        "nodes:",
        "  - id: plan",
        "    stage: step",
        "  - id: block",
        "    inputs: { from: plan }",
        "    parallel:",
        "      isolation: none",
        `      providers: [ { id: a, provider: command, command: "${AGENT} --script continue" } ]`,
        "      stages: [ { id: review, stage: step } ]",
        "  - id: merge",
        "    stage: step",
        "    inputs: { from_parallel: { block: block, stage: review } }",
        "",
      ].join("\n"),
    );
    const r = await foreground(root.path, file);
    expect(r.doc?.status).toBe("complete");
    const inBlock = await iterationContext(root.path, "fan", "parallel-01-block", "providers", "a", "stage-00-review");
    expect(inBlock.inputs.from_stage.plan).toEqual([join(runDir(root.path, "fan"), "stage-00-plan", "output.md")]);
    const merge = await iterationContext(root.path, "fan", "stage-02-merge");
    expect(merge.inputs.from_parallel).toHaveLength(1);
    expect(merge.inputs.from_parallel[0]).toMatchObject({ block: "block", stage: "review", providers: { a: { status: "complete", iterations: 1 } } });
    expect(existsSync(merge.inputs.from_parallel[0].providers.a.output)).toBe(true);
  }, 30_000);
});

describe("parallel blocks", () => {
  const block = (extra = "") =>
    [
      "nodes:",
      "  - id: block",
      "    parallel:",
      "      isolation: none",
      extra,
      "      providers:",
      `        - { id: a, provider: command, command: "${AGENT} --script continue" }`,
      `        - { id: b, provider: command, command: "${AGENT} --script fail" }`,
      "      stages: [ { id: work, stage: step, runs: 2 } ]",
      "",
    ]
      .filter((l) => l !== "")
      .join("\n") + "\n";

  test("one failing provider does not stop the other; the block succeeds with one provider complete", async () => {
    using root = tempRoot({ git: false });
    fakeStage(root.path, "step", { termination: "type: fixed\nmax: 2" });
    const r = await foreground(root.path, pipeline(root.path, "pair", block()));
    expect(r.doc.status).toBe("complete");
    expect(r.code).toBe(0);
    const manifest = await readJson(join(runDir(root.path, "pair"), "parallel-00-block", "manifest.json"));
    expect(manifest.providers.a).toMatchObject({ status: "complete", stages: { work: { status: "complete", iterations: 2 } } });
    expect(manifest.providers.b).toMatchObject({ status: "failed", stages: { work: { status: "failed", iterations: 0 } } });
    expect(manifest.providers.b.error).toContain("exited with code 3");
    // Each provider kept its own stage directory.
    for (const p of ["a", "b"]) expect(existsSync(join(runDir(root.path, "pair"), "parallel-00-block", "providers", p, "stage-00-work", "iterations", "001"))).toBe(true);
  }, 30_000);

  test("with fail_fast one failing provider fails the session", async () => {
    using root = tempRoot({ git: false });
    fakeStage(root.path, "step", { termination: "type: fixed\nmax: 2" });
    const r = await foreground(root.path, pipeline(root.path, "strict", block("      fail_fast: true")));
    expect(r.doc.status).toBe("failed");
    expect(r.doc.error.message).toContain("parallel block block failed");
    expect(r.code).toBe(1);
    const manifest = await readJson(join(runDir(root.path, "strict"), "parallel-00-block", "manifest.json"));
    expect(manifest.providers.b.status).toBe("failed");
  }, 30_000);

  test("with fail_fast a failure cancels a sibling's running agent at once", async () => {
    using root = tempRoot({ git: false });
    fakeStage(root.path, "step", { termination: "type: fixed\nmax: 2" });
    const file = pipeline(
      root.path,
      "cancel",
      [
        "nodes:",
        "  - id: block",
        "    parallel:",
        "      isolation: none",
        "      fail_fast: true",
        "      providers:",
        `        - { id: slow, provider: command, command: "${AGENT} --script sleep:30:continue" }`,
        `        - { id: bad, provider: command, command: "${AGENT} --script sleep:0.5:fail" }`,
        "      stages: [ { id: work, stage: step } ]",
        "",
      ].join("\n"),
    );
    const t0 = Date.now();
    const r = await foreground(root.path, file);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(r.doc.status).toBe("failed");
    const manifest = await readJson(join(runDir(root.path, "cancel"), "parallel-00-block", "manifest.json"));
    expect(manifest.providers.bad.status).toBe("failed");
    expect(manifest.providers.slow.status).toBe("cancelled");
    expect(manifest.providers.slow.error).toContain("fail_fast");
  }, 30_000);

  test("in a git repo each provider works in its own worktree, recorded in the manifest", async () => {
    using root = tempRoot();
    const rec = join(root.path, "agents.jsonl");
    fakeStage(root.path, "step", { termination: "type: fixed\nmax: 1" });
    const file = pipeline(
      root.path,
      "iso",
      [
        "nodes:",
        "  - id: dual",
        "    parallel:",
        "      providers:",
        `        - { id: a, provider: command, command: "${AGENT} --script continue --record ${rec}" }`,
        `        - { id: b, provider: command, command: "${AGENT} --script continue --record ${rec}" }`,
        "      stages: [ { id: work, stage: step } ]",
        "",
      ].join("\n"),
    );
    const r = await foreground(root.path, file);
    expect(r.doc.status).toBe("complete");
    const manifest = await readJson(join(runDir(root.path, "iso"), "parallel-00-dual", "manifest.json"));
    expect(manifest.block.isolation).toBe("worktree");
    const cwd = Object.fromEntries(records(rec).map((x) => [x.provider, x.cwd]));
    for (const p of ["a", "b"]) {
      const wt = manifest.providers[p].worktree;
      expect(wt).toMatchObject({ path: join(runDir(root.path, "iso"), "parallel-00-dual", "providers", p, "worktree"), branch: `sessions/iso/dual-${p}`, commits: [] });
      expect(cwd[p]).toBe(wt.path);
      expect(existsSync(join(wt.path, ".git"))).toBe(true);
    }
    const branches = Bun.spawnSync(["git", "-C", root.path, "branch", "--list", "sessions/*"]).stdout.toString();
    expect(branches).toContain("sessions/iso/dual-a");
    expect(branches).toContain("sessions/iso/dual-b");
  }, 30_000);

  test("a crash in the middle of a block: resume re-runs only the unfinished provider", async () => {
    using root = tempRoot({ git: false });
    const rec = join(root.path, "agents.jsonl");
    const bScript = join(root.path, "b-script");
    writeFileSync(bScript, "sleep:30:continue\n");
    fakeStage(root.path, "step", { termination: "type: fixed\nmax: 2" });
    const file = pipeline(
      root.path,
      "crashy",
      [
        "nodes:",
        "  - id: block",
        "    parallel:",
        "      isolation: none",
        "      providers:",
        `        - { id: a, provider: command, command: "${AGENT} --script continue --record ${rec}" }`,
        `        - { id: b, provider: command, command: "${AGENT} --script-file ${bScript} --record ${rec}" }`,
        "      stages: [ { id: work, stage: step, runs: 2 } ]",
        "",
      ].join("\n"),
    );
    const started = await sessions(["start", file, "--json", "--root", root.path], { tmux: tmux.dir });
    expect(started.code).toBe(0);
    const dir = runDir(root.path, "crashy");
    await until(() => records(join(dir, "events.jsonl")).some((e) => e.type === "parallel_provider_complete" && e.cursor.provider === "a" && e.data.status === "complete"), 20_000, "provider a complete");
    const b = await until(() => records(rec).find((x) => x.provider === "b"), 10_000, "provider b started");
    const engine: number = (await readJson(join(dir, "state.json"))).pid;
    process.kill(engine, "SIGKILL");
    process.kill(-b.pid, "SIGKILL");
    await until(() => gone(engine) && gone(b.pid), 10_000, "engine and agent b gone");
    expect(records(rec).filter((x) => x.provider === "a").map((x) => x.iteration)).toEqual([1, 2]);

    writeFileSync(bScript, "continue\n");
    const r = await sessions(["resume", "crashy", "--foreground", "--json", "--root", root.path], { tmux: tmux.dir });
    expect(r.json()).toMatchObject({ status: "complete" });
    expect(r.code).toBe(0);
    const runs = records(rec);
    expect(runs.filter((x) => x.provider === "a").map((x) => x.iteration)).toEqual([1, 2]);
    expect(runs.filter((x) => x.provider === "b").map((x) => x.iteration)).toEqual([1, 1, 2]);
    const manifest = await readJson(join(dir, "parallel-00-block", "manifest.json"));
    expect(manifest.providers.a).toMatchObject({ status: "complete", stages: { work: { iterations: 2 } } });
    expect(manifest.providers.b).toMatchObject({ status: "complete", stages: { work: { iterations: 2 } } });
  }, 60_000);
});

describe("lint", () => {
  test("--json on a broken tree exits 2 and lists every problem with its line", async () => {
    using root = tempRoot({ git: false });
    writeTree(root.path, BROKEN);
    const r = await sessions(["lint", "--json", "--root", root.path]);
    const doc = r.json();
    expect(r.code).toBe(2);
    expect(doc.ok).toBe(false);
    expect(doc.errors).toBeGreaterThanOrEqual(14);
    const typo = doc.definitions.find((d: any) => d.name === "typo");
    expect(typo).toEqual({
      kind: "stage",
      name: "typo",
      source: ".claude/pipelines/stages/typo/stage.yaml",
      ok: false,
      problems: [{ level: "error", file: ".claude/pipelines/stages/typo/stage.yaml", line: 5, field: "termination.maxx", message: "unknown field maxx (did you mean max?)" }],
    });
    for (const d of doc.definitions) for (const p of d.problems) if (p.level === "error") expect(p.line).toBeGreaterThan(0);
  }, 30_000);

  test("human output: problems grouped under PASS/FAIL lines and a summary", async () => {
    using root = tempRoot({ git: false });
    writeTree(root.path, BROKEN);
    const r = await sessions(["lint", "--root", root.path]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain("FAIL stage typo  .claude/pipelines/stages/typo/stage.yaml\n  error   .claude/pipelines/stages/typo/stage.yaml:5 termination.maxx: unknown field maxx");
    expect(r.stdout).toContain("  error   .claude/pipelines/stages/badvar/prompt.md:3 ${BOGUS}: unknown template variable ${BOGUS}");
    expect(r.stdout).toContain("PASS stage good");
    expect(r.stdout).toMatch(/^\d+ definitions, \d+ errors, 0 warnings, 1 hint$/m);
  }, 30_000);

  test("one target by path or name; an unknown target is exit 3", async () => {
    using root = tempRoot({ git: false });
    writeTree(root.path, BROKEN);
    const byPath = await sessions(["lint", join(root.path, ".claude/pipelines/order.yaml"), "--json", "--root", root.path]);
    expect(byPath.code).toBe(2);
    expect(byPath.json().definitions.map((d: any) => [d.name, d.problems.map((p: any) => p.line)])).toEqual([["order", [5, 9]]]);
    const good = await sessions(["lint", "good", "--root", root.path]);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain("1 definition, 0 errors, 0 warnings");
    const missing = await sessions(["lint", "nope", "--root", root.path]);
    expect(missing.code).toBe(3);
  }, 30_000);

  test("a clean root exits 0; --strict fails on a warning", async () => {
    using root = tempRoot({ git: false });
    const clean = await sessions(["lint", "--root", root.path]);
    expect(clean.stdout).toMatch(/^\d+ definitions, 0 errors, 0 warnings$/m);
    expect(clean.code).toBe(0);
    writeTree(root.path, { "stages/half/notes.md": "not a stage yet\n" });
    expect((await sessions(["lint", "--root", root.path])).code).toBe(0);
    const strict = await sessions(["lint", "--strict", "--json", "--root", root.path]);
    expect(strict.json()).toMatchObject({ ok: false, errors: 0, warnings: 1 });
    expect(strict.code).toBe(2);
  }, 30_000);
});

describe("the built-in library", () => {
  test("stages --json and pipelines --json list the built-ins", async () => {
    using root = tempRoot({ git: false });
    const stages = (await sessions(["stages", "--json", "--root", root.path])).json().stages;
    const pipelines = (await sessions(["pipelines", "--json", "--root", root.path])).json().pipelines;
    expect(stages.map((s: any) => s.name).sort()).toEqual(["bug-discovery", "bug-triage", "code-review", "critique", "demo", "elegance", "idea-wizard", "improve-plan", "propose", "ralph", "refine-tasks", "respond", "synthesis", "verdict"]);
    expect(pipelines.map((p: any) => p.name).sort()).toEqual(["bug-hunt", "debate", "dual-review", "full-refine", "refine"]);
    for (const d of [...stages, ...pipelines]) {
      expect(d.builtin).toBe(true);
      expect(d.source).toStartWith("builtin:pipelines/");
      expect(d.description).toBeTruthy();
    }
  }, 30_000);

  test("the built-in demo stage runs with its scripted agent", async () => {
    using root = tempRoot({ git: false });
    const r = await foreground(root.path, "demo");
    expect(r.doc).toMatchObject({ status: "complete", iteration_completed: 3 });
  }, 30_000);
});

describe("skill", () => {
  test("prints a SKILL.md with front matter; --json wraps it", async () => {
    const r = await sessions(["skill"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toStartWith("---\nname: sessions\ndescription: ");
    expect(r.stdout.split("\n---\n")[0]!.split("\n").length).toBe(3);
    for (const word of ["sessions start", "sessions list", "sessions status", "sessions monitor", "sessions attach", "sessions kill", "sessions cleanup", "sessions resume", "sessions tail", "sessions wait", "--json", "| 5 |"]) {
      expect(r.stdout).toContain(word);
    }
    const j = await sessions(["skill", "--json"]);
    expect(j.json()).toEqual({ name: "sessions", content: r.stdout });
  }, 30_000);

  test("install writes <root>/.claude/skills/sessions/SKILL.md, refuses to overwrite a different file without --force", async () => {
    using root = tempRoot({ git: false });
    const path = join(root.path, ".claude", "skills", "sessions", "SKILL.md");
    const text = (await sessions(["skill", "--root", root.path])).stdout;
    const first = await sessions(["skill", "install", "--json", "--root", root.path]);
    expect(first.json()).toEqual({ path, written: true });
    expect(readFileSync(path, "utf8")).toBe(text);
    const again = await sessions(["skill", "install", "--root", root.path]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(path);
    writeFileSync(path, "my own edits\n");
    const refused = await sessions(["skill", "install", "--json", "--root", root.path]);
    expect(refused.code).toBe(4);
    expect(refused.json().error.message).toContain("differs");
    expect(readFileSync(path, "utf8")).toBe("my own edits\n");
    const forced = await sessions(["skill", "install", "--force", "--root", root.path]);
    expect(forced.code).toBe(0);
    expect(readFileSync(path, "utf8")).toBe(text);
    expect((await sessions(["skill", "uninstall"])).code).toBe(2);
  }, 30_000);
});

describe("the judge of a judgment stage", () => {
  const judged = (root: string, judgeScript: string) => {
    fakeStage(root, "j", {
      script: "stop",
      termination: `type: judgment\nmax: 6\nmin_iterations: 1\nconsensus: 2\njudge:\n  provider: command\n  command: \${SESSIONS_BIN} _agent --script ${judgeScript}`,
    });
  };
  const run = async (root: string) => {
    const r = await sessions(["start", "j", "--foreground", "--json", "--root", root]);
    const events = readFileSync(join(runDir(root, "j"), "events.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    return { code: r.code, doc: r.json(), judges: events.filter((e) => e.type === "judge_complete").map((e) => e.data) };
  };

  test("a judge that agrees ends the stage at consensus", async () => {
    using root = tempRoot();
    judged(root.path, "verdict:stop");
    const r = await run(root.path);
    expect(r.code).toBe(0);
    expect(r.doc.iteration_completed).toBe(2);
    expect(r.judges).toEqual([{ status: "ok", stop: true, reason: "scripted stop" }]);
  }, 30_000);

  test("a judge that disagrees keeps the stage going until max", async () => {
    using root = tempRoot();
    judged(root.path, "verdict:continue");
    const r = await run(root.path);
    expect(r.code).toBe(0);
    expect(r.doc.iteration_completed).toBe(6);
    expect(r.doc.completion_reason).toContain("max iterations (6)");
    expect(r.judges.length).toBe(4);
    expect(r.judges.every((j: { stop: boolean }) => j.stop === false)).toBe(true);
  }, 30_000);

  test("a judge that answers garbage three times is skipped, and that is recorded", async () => {
    using root = tempRoot();
    judged(root.path, "verdict:garbage");
    const r = await run(root.path);
    expect(r.code).toBe(0);
    expect(r.judges.length).toBe(3);
    expect(r.judges.every((j: { status: string }) => j.status === "failed")).toBe(true);
    // Iterations 2, 3 and 4 reached consensus and were judged; after the third failure consensus alone decides.
    expect(r.doc.iteration_completed).toBe(4);
    expect(readFileSync(join(runDir(root.path, "j"), "engine.log"), "utf8")).toContain("judge failed 3 times");
  }, 30_000);
});
