/** kill, cleanup, pause and resume end to end: the compiled binary, a private tmux, the fake agent. */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanEnv, fakeStage, gone, groupGone, historyOf, privateTmux, readJson, runDir, sessions, tempRoot, until } from "../helpers.ts";

const server = privateTmux();
afterAll(() => server.kill());

const tmux = (...args: string[]) => Bun.spawnSync(["tmux", ...args], { env: cleanEnv({ TMUX_TMPDIR: server.dir }), stdout: "pipe", stderr: "pipe" });
const hasTmux = (name: string) => tmux("has-session", "-t", `=${name}`).success;
const run = (root: string, args: string[]) => sessions([...args, "--root", root], { tmux: server.dir });
const state = (root: string, s: string) => readJson(join(runDir(root, s), "state.json"));
const lockPath = (root: string, s: string) => join(root, ".claude", "locks", `${s}.lock`);


const records = (file: string): { iteration: number; pid: number }[] =>
  existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)) : [];

async function startRunning(root: string, name: string) {
  const r = await run(root, ["start", name, "--json"]);
  expect(r.code).toBe(0);
  return until(async () => {
    const s = await state(root, name);
    return s.agent_pgids.length && s.status === "running" ? s : null;
  }, 10_000, "the agent to run");
}

describe("kill", () => {
  test("a hanging session: agent group, engine, tmux and lock all end, state killed", async () => {
    using root = tempRoot();
    fakeStage(root.path, "hang", { script: "hang" });
    const s = await startRunning(root.path, "hang");
    expect(hasTmux("pipeline-hang")).toBe(true);

    const refused = await run(root.path, ["kill", "hang"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("--yes");
    expect(groupGone(s.agent_pgids[0])).toBe(false);

    const r = await run(root.path, ["kill", "hang", "--yes", "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const doc = r.json();
    expect(doc).toMatchObject({ session: "hang", status: "killed" });
    expect(doc.killed).toEqual(expect.arrayContaining(["agent", "engine", "tmux"]));
    expect(() => process.kill(-s.agent_pgids[0], 0)).toThrow();
    expect(gone(s.pid)).toBe(true);
    expect(existsSync(lockPath(root.path, "hang"))).toBe(false);
    expect(hasTmux("pipeline-hang")).toBe(false);
    const st = (await run(root.path, ["status", "hang", "--json"])).json();
    expect([st.status, st.error.kind, st.alive]).toEqual(["killed", "signal", false]);
    expect(existsSync(join(runDir(root.path, "hang"), "events.jsonl"))).toBe(true);
  }, 30_000);

  test("a finished session: nothing to stop, exit 0; an unknown one: exit 3", async () => {
    using root = tempRoot();
    fakeStage(root.path, "quick", { script: "stop" });
    expect((await run(root.path, ["start", "quick", "--foreground"])).code).toBe(0);
    const r = await run(root.path, ["kill", "quick"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("nothing to stop");
    const j = await run(root.path, ["kill", "quick", "--json"]);
    expect(j.json()).toMatchObject({ session: "quick", killed: [], status: "complete" });
    expect((await state(root.path, "quick")).status).toBe("complete");

    const unknown = await run(root.path, ["kill", "nope", "--yes", "--json"]);
    expect(unknown.code).toBe(3);
    expect(unknown.json().error.code).toBe("not_found");
  }, 30_000);
});

test("kill --all stops every running session of the root", async () => {
  using root = tempRoot();
  fakeStage(root.path, "one", { script: "hang" });
  fakeStage(root.path, "two", { script: "hang" });
  fakeStage(root.path, "quick", { script: "stop" });
  expect((await run(root.path, ["start", "quick", "--foreground"])).code).toBe(0);
  const a = await startRunning(root.path, "one");
  const b = await startRunning(root.path, "two");
  const r = await run(root.path, ["kill", "--all", "--yes", "--json"]);
  expect(r.code).toBe(0);
  const docs = r.json().sessions.sort((x: any, y: any) => x.session.localeCompare(y.session));
  expect(docs.map((d: any) => [d.session, d.status])).toEqual([["one", "killed"], ["two", "killed"]]);
  expect([groupGone(a.agent_pgids[0]), groupGone(b.agent_pgids[0])]).toEqual([true, true]);
  expect((await state(root.path, "quick")).status).toBe("complete");
}, 30_000);

describe("crash, cleanup, resume", () => {
  test("SIGKILLed engine → crashed → cleanup reports, then fixes → resume runs each remaining iteration once", async () => {
    using root = tempRoot();
    const record = join(root.path, "runs.jsonl");
    const script = join(root.path, "script.txt");
    writeFileSync(script, "continue\nsleep:60:continue\ncontinue\ncontinue\n");
    fakeStage(root.path, "crashy", { record, agentArgs: `--script-file ${script}`, termination: "type: fixed\nmax: 4" });
    expect((await run(root.path, ["start", "crashy", "--json"])).code).toBe(0);
    const s = await until(async () => {
      const st = await state(root.path, "crashy");
      return st.iteration === 2 && st.agent_pgids.length ? st : null;
    }, 15_000, "iteration 2 to run");

    process.kill(s.pid, "SIGKILL");
    await until(() => gone(s.pid), 5000, "the engine to die");
    const status = (await run(root.path, ["status", "crashy", "--json"])).json();
    expect([status.status, status.alive]).toEqual(["crashed", false]);

    const report = await run(root.path, ["cleanup", "--json"]);
    expect(report.code).toBe(0);
    const found = report.json();
    expect(found.fixed).toBe(false);
    expect(found.zombie_states).toMatchObject([{ session: "crashy", status: "running", pid: s.pid, agent_pgids: s.agent_pgids }]);
    expect(found.stale_locks).toMatchObject([{ session: "crashy", pid: s.pid }]);
    expect(groupGone(s.agent_pgids[0])).toBe(false); // a report changes nothing
    expect(existsSync(lockPath(root.path, "crashy"))).toBe(true);

    const fixed = (await run(root.path, ["cleanup", "--yes", "--json"])).json();
    expect(fixed.fixed).toBe(true);
    expect(fixed.zombie_states).toMatchObject([{ session: "crashy", fixed: true }]);
    expect(fixed.stale_locks).toMatchObject([{ session: "crashy", fixed: true }]);
    const after = await state(root.path, "crashy");
    expect([after.status, after.error.message, after.error.kind]).toEqual(["failed", "engine died", "crash"]);
    expect(existsSync(lockPath(root.path, "crashy"))).toBe(false);
    expect(groupGone(s.agent_pgids[0])).toBe(true);
    const again = (await run(root.path, ["cleanup", "--json"])).json();
    expect([again.zombie_states, again.stale_locks, again.orphaned_tmux]).toEqual([[], [], []]);

    writeFileSync(script, "continue\ncontinue\ncontinue\ncontinue\n");
    const r = await run(root.path, ["resume", "crashy", "--foreground", "--json", "--context", "mind the tests"]);
    expect(r.code).toBe(0);
    const doc = r.json();
    expect(doc).toMatchObject({ session: "crashy", target: "crashy", resumed_at: { node: 0, id: "crashy", iteration: 2 }, status: "complete" });
    const final = await state(root.path, "crashy");
    expect([final.status, final.iteration_completed]).toEqual(["complete", 4]);
    const ctx = await readJson(join(runDir(root.path, "crashy"), "stage-00-crashy", "iterations", "003", "context.json"));
    expect(ctx.context).toBe("mind the tests");
    expect(historyOf(root.path, "crashy").filter((h: any) => h.decision !== "failed").map((h: any) => h.iteration)).toEqual([1, 2, 3, 4]);
    const counts = new Map<number, number>();
    for (const rec of records(record)) counts.set(rec.iteration, (counts.get(rec.iteration) ?? 0) + 1);
    expect([...counts.entries()].sort((a, b) => a[0] - b[0])).toEqual([[1, 1], [2, 2], [3, 1], [4, 1]]);
  }, 60_000);

  test("an orphaned tmux session of this root is killed; a foreign one is reported and left alive", async () => {
    using root = tempRoot();
    expect(tmux("new-session", "-d", "-s", "pipeline-x", "--", "sleep", "300", ";", "set-option", "-t", "=pipeline-x:", "@sessions_root", root.path).success).toBe(true);
    expect(tmux("new-session", "-d", "-s", "pipeline-foreign", "--", "sleep", "300").success).toBe(true);
    expect(tmux("new-session", "-d", "-s", "pipeline-theirs", "--", "sleep", "300", ";", "set-option", "-t", "=pipeline-theirs:", "@sessions_root", "/some/other/root").success).toBe(true);

    const report = (await run(root.path, ["cleanup", "--json"])).json();
    expect(report.orphaned_tmux).toMatchObject([{ name: "pipeline-x", session: "x", reason: "no run directory" }]);
    expect(report.foreign_tmux).toMatchObject([{ name: "pipeline-foreign" }]);
    expect(hasTmux("pipeline-x")).toBe(true);

    const r = await run(root.path, ["cleanup", "--yes", "--json"]);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ fixed: true, orphaned_tmux: [{ name: "pipeline-x", fixed: true }], foreign_tmux: [{ name: "pipeline-foreign" }] });
    expect(hasTmux("pipeline-x")).toBe(false);
    expect(hasTmux("pipeline-foreign")).toBe(true);
    expect(hasTmux("pipeline-theirs")).toBe(true);
    tmux("kill-session", "-t", "=pipeline-foreign");
    tmux("kill-session", "-t", "=pipeline-theirs");
  }, 30_000);
});

describe("pause and resume", () => {
  test("pause holds after the running iteration; resume continues to the end", async () => {
    using root = tempRoot();
    fakeStage(root.path, "slow", { script: "sleep:1:continue", termination: "type: fixed\nmax: 6" });
    await startRunning(root.path, "slow");

    const p = await run(root.path, ["pause", "slow", "--wait", "--json"]);
    expect(p.code).toBe(0);
    expect(p.json()).toEqual({ session: "slow", pause_requested: true, status: "paused" });
    const held = (await run(root.path, ["status", "slow", "--json"])).json();
    expect([held.status, held.alive, held.agent_pgids]).toEqual(["paused", true, []]);
    expect(held.iteration_completed).toBeLessThan(6);

    const busy = await run(root.path, ["pause", "slow", "--json"]);
    expect(busy.json().status).toBe("paused");

    const r = await run(root.path, ["resume", "slow", "--json"]);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ session: "slow", unpaused: true, resumed_at: { node: 0, id: "slow", iteration: held.iteration_completed + 1 } });
    const done = await until(async () => {
      const s = await state(root.path, "slow");
      return s.status === "complete" ? s : null;
    }, 30_000, "the session to complete");
    expect([done.status, historyOf(root.path, "slow").map((h: any) => h.iteration)]).toEqual(["complete", [1, 2, 3, 4, 5, 6]]);
    await until(() => !hasTmux("pipeline-slow"), 5000, "tmux to close");
  }, 60_000);

  test("pause needs a live engine", async () => {
    using root = tempRoot();
    fakeStage(root.path, "quick", { script: "stop" });
    expect((await run(root.path, ["start", "quick", "--foreground"])).code).toBe(0);
    const r = await run(root.path, ["pause", "quick"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no live engine");
  }, 30_000);
});

describe("resume refuses", () => {
  test("a running session (exit 4) and a complete one (exit 4, start --force hint)", async () => {
    using root = tempRoot();
    fakeStage(root.path, "hang", { script: "hang" });
    fakeStage(root.path, "quick", { script: "stop" });
    const s = await startRunning(root.path, "hang");
    const busy = await run(root.path, ["resume", "hang", "--json"]);
    expect(busy.code).toBe(4);
    expect(busy.json().error.message).toContain("is running");
    expect((await state(root.path, "hang")).pid).toBe(s.pid);
    expect((await run(root.path, ["kill", "hang", "--yes"])).code).toBe(0);

    expect((await run(root.path, ["start", "quick", "--foreground"])).code).toBe(0);
    const done = await run(root.path, ["resume", "quick"]);
    expect(done.code).toBe(4);
    expect(done.stderr).toContain("complete");
    expect(done.stderr).toContain("--force");
  }, 30_000);

  test("a killed session resumes in tmux where it stopped", async () => {
    using root = tempRoot();
    const script = join(root.path, "script.txt");
    writeFileSync(script, "continue\nhang\n");
    fakeStage(root.path, "again", { agentArgs: `--script-file ${script}`, termination: "type: fixed\nmax: 3" });
    await run(root.path, ["start", "again"]);
    await until(async () => (await state(root.path, "again")).iteration === 2, 10_000, "iteration 2");
    expect((await run(root.path, ["kill", "again", "--yes"])).code).toBe(0);
    const killed = await state(root.path, "again");
    expect([killed.status, historyOf(root.path, "again").map((h: any) => h.decision)]).toEqual(["killed", ["continue"]]);
    writeFileSync(script, "continue\n");
    const r = await run(root.path, ["resume", "again", "--json"]);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ session: "again", tmux: "pipeline-again", resumed_at: { node: 0, id: "again", iteration: 2 } });
    const done = await until(async () => {
      const s = await state(root.path, "again");
      return s.status === "complete" ? s : null;
    }, 15_000, "the resumed session to complete");
    expect([done.status, historyOf(root.path, "again").map((h: any) => h.iteration)]).toEqual(["complete", [1, 2, 3]]);
  }, 30_000);
});
