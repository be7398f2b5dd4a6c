/** The read side end to end: list, status, tail, wait, monitor, attach, doctor against real tmux and the fake agent. */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanEnv, fakeStage, gone, privateTmux, readJson, runDir, sessions, tempRoot, until } from "../helpers.ts";

const tmux = privateTmux();
afterAll(() => tmux.kill());

const run = (root: string, args: string[], env?: Record<string, string | undefined>) => sessions([...args, "--root", root], { tmux: tmux.dir, env });
const state = (root: string, s: string) => readJson(join(runDir(root, s), "state.json"));

/** Start a fake-agent session in tmux; resolves once its agent runs iteration `iteration`. */
async function startAt(root: string, name: string, script: string, iteration = 1) {
  fakeStage(root, name, { script, termination: "type: fixed\nmax: 5" });
  const r = await run(root, ["start", name]);
  expect(r.code).toBe(0);
  return until(async () => {
    const s = await state(root, name);
    return s.iteration >= iteration && s.agent_pgids.length ? s : null;
  }, 15_000, `${name} to reach iteration ${iteration}`);
}

/** End a running session (its tmux session, so the engine gets SIGHUP) before its root goes away. */
async function stop(root: string, name: string) {
  Bun.spawnSync(["tmux", "kill-session", "-t", `=pipeline-${name}`], { env: cleanEnv({ TMUX_TMPDIR: tmux.dir }) });
  await until(async () => (await state(root, name)).status !== "running", 10_000, `${name} to stop`);
}

describe("a running session", () => {
  test("list, status, monitor and tail show it; wait --timeout gives up with exit 1", async () => {
    using root = tempRoot();
    await startAt(root.path, "busy", "continue,sleep:30:continue", 2);
    try {
      const list = await run(root.path, ["list", "--json"]);
      expect(list.code).toBe(0);
      const rows = list.json().sessions;
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ session: "busy", target: "busy", status: "running", stage: "busy", iteration: 2, max: 5, alive: true, tmux: true, stalled: false, problem: null });
      for (const k of ["started_at", "updated_at"]) expect(typeof rows[0][k]).toBe("string");

      const human = await run(root.path, ["list"]);
      expect(human.stdout).toMatch(/^busy\s+busy\s+running\s+busy\s+2\/5/m);

      const st = await run(root.path, ["status", "busy", "--json"]);
      expect(st.code).toBe(0);
      const doc = st.json();
      expect(doc).toMatchObject({ session: "busy", type: "loop", target: "busy", status: "running", alive: true, tmux: true, iteration: 2, iteration_completed: 1 });
      expect(doc.lock).toMatchObject({ pid: doc.pid, stale: false });
      expect(doc.last).toMatchObject({ iteration: 1, decision: "continue", summary: "iteration 1 did continue" });
      expect(doc.paths.run_dir).toBe(runDir(root.path, "busy"));
      expect(Array.isArray(doc.history)).toBe(true);
      const text = (await run(root.path, ["status", "busy"])).stdout;
      expect(text).toContain("busy  running");
      expect(text).toMatch(/engine\s+pid \d+ alive; lock pid \d+ live/);
      expect(text).toContain("iteration  2/5 (1 done)");

      const mon = await run(root.path, ["monitor", "busy", "--json"]);
      expect(mon.code).toBe(0);
      const peek = mon.json();
      expect(peek.source).toBe("tmux");
      expect(peek.lines.join("\n")).toContain("fake agent: iteration 2, action sleep:30:continue");
      expect((await run(root.path, ["monitor", "busy", "--lines", "3"])).stdout.trimEnd().split("\n").length).toBeLessThanOrEqual(3);

      const tail = await run(root.path, ["tail", "busy", "--lines", "3"]);
      expect(tail.stdout.trimEnd().split("\n")).toHaveLength(3);
      expect(tail.stdout).toMatch(/^\[\d\d:\d\d:\d\d\] iteration_complete 0\/busy #1: continue — iteration 1 did continue$/m);

      const t0 = Date.now();
      const w = await run(root.path, ["wait", "busy", "--timeout", "1", "--json"]);
      expect(w.code).toBe(1);
      expect(w.json()).toEqual({ session: "busy", status: "running", timed_out: true });
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      await stop(root.path, "busy");
    }
  }, 40_000);

  test("attach without a terminal says so and points to monitor", async () => {
    using root = tempRoot();
    await startAt(root.path, "att", "hang");
    try {
      const r = await run(root.path, ["attach", "att"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("tmux attach needs a terminal");
      expect(r.stderr).toContain("sessions monitor att");
    } finally {
      await stop(root.path, "att");
    }
  }, 30_000);
});

describe("finished sessions", () => {
  test("complete: wait exits 0, list/status say complete, tail has the iterations, monitor falls back to the log", async () => {
    using root = tempRoot();
    fakeStage(root.path, "done", { script: "continue,stop", termination: "type: fixed\nmax: 5" });
    expect((await run(root.path, ["start", "done"])).code).toBe(0);
    const w = await run(root.path, ["wait", "done", "--timeout", "20", "--json"]);
    expect(w.code).toBe(0);
    expect(w.json()).toMatchObject({ session: "done", status: "complete", iteration_completed: 2, alive: false });
    const human = await run(root.path, ["wait", "done"]);
    expect([human.code, human.stdout.trim()]).toEqual([0, "done: complete — agent asked to stop at iteration 2"]);

    expect((await run(root.path, ["list", "--json"])).json().sessions).toMatchObject([{ session: "done", status: "complete", alive: false, iteration: 2 }]);

    const tail = await run(root.path, ["tail", "done"]);
    expect(tail.code).toBe(0);
    expect(tail.stdout).toContain("iteration_complete 0/done #1: continue — iteration 1 did continue");
    expect(tail.stdout).toContain("iteration_complete 0/done #2: stop — iteration 2 did stop");
    expect(tail.stdout.trimEnd().split("\n").at(-1)).toMatch(/session_complete: reason="agent asked to stop at iteration 2"$/);
    const lines = (await run(root.path, ["tail", "done", "--json"])).stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(lines.filter((e) => e.type === "iteration_complete").map((e) => e.data.decision)).toEqual(["continue", "stop"]);
    // --follow of an ended session prints what is there and returns.
    expect((await run(root.path, ["tail", "done", "--follow", "--lines", "1"])).stdout).toContain("session_complete");

    const mon = await run(root.path, ["monitor", "done"]);
    expect(mon.code).toBe(0);
    expect(mon.stderr).toContain("showing the end of its engine.log");
    expect(mon.stdout).toContain("fake agent: iteration 2, action stop");
    expect((await run(root.path, ["monitor", "done", "--json"])).json()).toMatchObject({ session: "done", source: "log" });

    const att = await run(root.path, ["attach", "done"]);
    expect(att.code).toBe(1);
    expect(att.stderr).toContain("status complete");
    expect(att.stderr).toContain("sessions monitor done");
  }, 40_000);

  test("failed: wait exits 1, status shows the error", async () => {
    using root = tempRoot();
    fakeStage(root.path, "bad", { script: "continue,fail", termination: "type: fixed\nmax: 5" });
    expect((await run(root.path, ["start", "bad"])).code).toBe(0);
    const w = await run(root.path, ["wait", "bad", "--timeout", "20"]);
    expect(w.code).toBe(1);
    expect(w.stdout).toContain("bad: failed — iteration 2 of bad failed");
    const doc = (await run(root.path, ["status", "bad", "--json"])).json();
    expect(doc).toMatchObject({ status: "failed", alive: false, error: { stage: "bad", iteration: 2 } });
    const text = (await run(root.path, ["status", "bad"])).stdout;
    expect(text).toMatch(/error\s+iteration 2 of bad failed/);
    expect(text).toContain("sessions resume bad");
    expect((await run(root.path, ["list"])).stdout).toMatch(/^bad\s+bad\s+failed\s+bad\s+2\/5\s+-\s+\S+\s+iteration 2 of bad failed/m);
  }, 30_000);

  test("tail --follow prints events as they come and returns when the session ends", async () => {
    using root = tempRoot();
    fakeStage(root.path, "slow", { script: "sleep:1:continue,sleep:1:stop", termination: "type: fixed\nmax: 5" });
    expect((await run(root.path, ["start", "slow"])).code).toBe(0);
    const r = await run(root.path, ["tail", "slow", "--follow", "--lines", "1"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("iteration_complete 0/slow #2: stop");
    expect(r.stdout.trimEnd().split("\n").at(-1)).toContain("session_complete");
    // Nothing twice.
    const lines = r.stdout.trimEnd().split("\n");
    expect(new Set(lines).size).toBe(lines.length);
  }, 30_000);

  test("monitor --follow prints the pane as it grows, then what the log has after tmux ends", async () => {
    using root = tempRoot();
    fakeStage(root.path, "watch", { script: "sleep:1:continue,stop", termination: "type: fixed\nmax: 5" });
    expect((await run(root.path, ["start", "watch"])).code).toBe(0);
    const r = await run(root.path, ["monitor", "watch", "--follow"]);
    expect(r.code).toBe(0);
    for (const line of ["fake agent: iteration 1, action sleep:1:continue", "fake agent: iteration 2, action stop", "session watch complete"]) {
      expect(r.stdout.split("\n").filter((l) => l.includes(line))).toHaveLength(1);
    }
  }, 30_000);
});

test("crashed: the engine and its agent SIGKILLed → list and status say crashed, wait exits 1", async () => {
  using root = tempRoot();
  const s = await startAt(root.path, "crashy", "hang");
  process.kill(s.pid, "SIGKILL");
  process.kill(-s.agent_pgids[0], "SIGKILL");
  await until(() => gone(s.pid), 5000, "the engine to die");
  const row = (await run(root.path, ["list", "--json"])).json().sessions[0];
  expect(row).toMatchObject({ session: "crashy", status: "crashed", alive: false });
  expect((await run(root.path, ["list"])).stdout).toMatch(/crashy\s+crashy\s+crashed.*engine pid \d+ is gone; '\S*sessions resume crashy'/);
  const doc = (await run(root.path, ["status", "crashy", "--json"])).json();
  expect(doc).toMatchObject({ status: "crashed", stored_status: "running", alive: false, lock: { pid: s.pid, stale: true } });
  expect((await run(root.path, ["wait", "crashy", "--timeout", "5"])).code).toBe(1);
  // Reading never repairs: the state still says running.
  expect((await state(root.path, "crashy")).status).toBe("running");
  // rm takes what the dead engine left (its cgroup) with the session.
  (await run(root.path, ["rm", "crashy"])).expectExit(0);
  if (s.cgroup) expect(existsSync(s.cgroup)).toBe(false);
}, 30_000);

test("a corrupt state.json: list still lists the others and marks it unreadable; status names the file, exit 1", async () => {
  using root = tempRoot();
  fakeStage(root.path, "ok", { script: "stop" });
  expect((await run(root.path, ["start", "ok", "--foreground"])).code).toBe(0);
  expect((await run(root.path, ["start", "ok", "torn", "--foreground"])).code).toBe(0);
  const file = join(runDir(root.path, "torn"), "state.json");
  writeFileSync(file, '{"session": "torn", "status": "runn');
  const list = await run(root.path, ["list", "--json"]);
  expect(list.code).toBe(0);
  const rows = list.json().sessions;
  expect(rows.map((r: any) => [r.session, r.status]).sort()).toEqual([["ok", "complete"], ["torn", "unreadable"]]);
  expect(rows.find((r: any) => r.session === "torn").problem).toContain("not valid JSON");
  expect((await run(root.path, ["list"])).stdout).toMatch(/^torn\s+-\s+unreadable.*not valid JSON/m);

  const st = await run(root.path, ["status", "torn"]);
  expect(st.code).toBe(1);
  expect(st.stdout).toContain(`${file}: state.json is not valid JSON`);
  const doc = await run(root.path, ["status", "torn", "--json"]);
  expect(doc.code).toBe(1);
  expect(doc.json()).toMatchObject({ session: "torn", status: "unreadable", paths: { state: file } });
  expect(doc.json().unreadable).toContain("not valid JSON");
  expect(await Bun.file(file).text()).toBe('{"session": "torn", "status": "runn');
}, 30_000);

test("a torn line in events.jsonl is skipped with a note on stderr", async () => {
  using root = tempRoot();
  fakeStage(root.path, "ev", { script: "stop" });
  expect((await run(root.path, ["start", "ev", "--foreground"])).code).toBe(0);
  const events = join(runDir(root.path, "ev"), "events.jsonl");
  writeFileSync(events, (await Bun.file(events).text()) + '{"ts": "2026-01-01T00:0');
  const r = await run(root.path, ["tail", "ev"]);
  expect(r.code).toBe(0);
  expect(r.stderr).toContain("skipped a torn line");
  expect(r.stdout).toContain("session_complete");
}, 30_000);

test("unknown sessions are exit 3 naming the known ones; bad names exit 2", async () => {
  using root = tempRoot();
  fakeStage(root.path, "ok", { script: "stop" });
  expect((await run(root.path, ["start", "ok", "--foreground"])).code).toBe(0);
  for (const verb of ["status", "tail", "wait", "monitor", "attach"]) {
    const r = await run(root.path, [verb, "nope"]);
    expect([verb, r.code]).toEqual([verb, 3]);
    expect(r.stderr).toContain("sessions here: ok");
  }
  const j = await run(root.path, ["status", "nope", "--json"]);
  expect(j.json().error).toMatchObject({ code: "not_found" });
  expect((await run(root.path, ["status", "../ok"])).code).toBe(2);
}, 30_000);

test("an empty root: list says how to start, --json is an empty list", async () => {
  using root = tempRoot();
  const r = await run(root.path, ["list"]);
  expect([r.code, r.stdout]).toEqual([0, expect.stringContaining("sessions start <target>")]);
  expect((await run(root.path, ["list", "--json"])).json()).toEqual({ sessions: [] });
}, 10_000);

describe("doctor", () => {
  test("reports each check with a fix; exit 0 when nothing fails", async () => {
    using root = tempRoot();
    const r = await run(root.path, ["doctor", "--json"]);
    expect(r.code).toBe(0);
    const doc = r.json();
    expect(doc.root).toBe(root.path);
    const names = doc.checks.map((c: any) => c.name);
    for (const n of ["tmux", "claude", "codex", "bd", "definitions", "root", "git", "sessions"]) expect(names).toContain(n);
    for (const c of doc.checks) {
      expect(["ok", "warn", "fail"]).toContain(c.status);
      expect(c.status === "ok" ? c.fix === null : typeof c.fix === "string").toBe(true);
    }
    expect(doc.checks.find((c: any) => c.name === "tmux")).toMatchObject({ status: "ok", detail: expect.stringMatching(/^tmux \d/) });
    expect(doc.checks.find((c: any) => c.name === "git").status).toBe("ok");
    expect(doc.checks.find((c: any) => c.name === "root").detail).toContain("(--root)");
  }, 20_000);

  test("tmux missing: fail with the fix, exit 5; a stand-in claude is found through SESSIONS_CLAUDE_BIN", async () => {
    using root = tempRoot({ git: false });
    const fake = join(root.path, "my-claude");
    writeFileSync(fake, "#!/bin/sh\necho '9.9.9 (Claude Code)'\n", { mode: 0o755 });
    const r = await run(root.path, ["doctor", "--json"], { PATH: "/nonexistent", SESSIONS_CLAUDE_BIN: fake });
    expect(r.code).toBe(5);
    const checks = r.json().checks;
    expect(checks.find((c: any) => c.name === "tmux")).toMatchObject({ status: "fail", fix: expect.stringContaining("install") });
    expect(checks.find((c: any) => c.name === "claude")).toMatchObject({ status: "ok", detail: expect.stringContaining(`${fake} (9.9.9 (Claude Code))`) });
    expect(checks.find((c: any) => c.name === "git").status).toBe("warn");
    const human = await run(root.path, ["doctor"], { PATH: "/nonexistent" });
    expect(human.code).toBe(5);
    expect(human.stdout).toMatch(/^FAIL tmux\s+tmux is not on PATH/m);
  }, 20_000);
});
