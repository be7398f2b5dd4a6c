/** The status model (judge), list's overview and inspect, from hand-written run directories. */
import { describe, expect, test } from "bun:test";
import { mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { pidStart } from "../../../src/lib/proc.ts";
import { classify, type Lock } from "../../../src/store/lock.ts";
import { parseState } from "../../../src/store/state.ts";
import { inspect, judge } from "../../../src/sessions/inspect.ts";
import { overview, sessionRef } from "../../../src/sessions/overview.ts";
import { tempRoot, usePrivateTmuxEnv, stateFixture } from "../../helpers.ts";

// overview() asks tmux what exists: a private server, where these tests also plant sessions.
usePrivateTmuxEnv();

const me = { pid: process.pid, pid_start: pidStart(process.pid) };

/** A pid that certainly ended: a child that already exited and was reaped. */
async function deadPid(): Promise<number> {
  const p = Bun.spawn(["true"]);
  await p.exited;
  return p.pid;
}

const state = (session: string, o: Record<string, unknown> = {}) => stateFixture(session, { ...me, ...o });

const read = (session: string, o: Record<string, unknown> = {}) => parseState(JSON.stringify(state(session, o)));
const lockOf = (o: Partial<Lock> = {}): Lock => ({ session: "s", ...me, host: hostname(), started_at: new Date().toISOString(), version: "test", holder: "engine", ...o });

function writeSession(root: string, name: string, st: Record<string, unknown> | string, lock?: Partial<Lock>) {
  const dir = join(root, ".claude", "pipeline-runs", name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "state.json"), typeof st === "string" ? st : JSON.stringify(state(name, st)));
  if (lock) {
    mkdirSync(join(root, ".claude", "locks"), { recursive: true });
    writeFileSync(join(root, ".claude", "locks", `${name}.lock`), JSON.stringify(lockOf({ session: name, ...lock })));
  }
  return dir;
}

describe("judge", () => {
  test("running with a live engine and its lock: running, alive", () => {
    const ev = judge("s", read("s"), classify(lockOf()), true);
    expect(ev).toMatchObject({ status: "running", alive: true, tmux: true, stalled: false, problem: null });
    expect(ev.lock.state).toBe("live");
  });

  test("running but the engine is gone: crashed, and its lock is stale", async () => {
    const pid = await deadPid();
    const ev = judge("s", read("s", { pid, pid_start: "123" }), classify(lockOf({ pid, pid_start: "123" })), false);
    expect(ev.status).toBe("crashed");
    expect(ev.alive).toBe(false);
    expect(ev.lock).toMatchObject({ state: "stale", why: "process is gone" });
  });

  test("a reused pid (same number, another start time) is not the engine", () => {
    const ev = judge("s", read("s", { pid: process.pid, pid_start: "1" }), classify(lockOf({ pid: process.pid, pid_start: "1" })), true);
    expect(ev.status).toBe("crashed");
    expect(ev.alive).toBe(false);
    expect(ev.lock).toMatchObject({ state: "stale", why: "pid reused by another process" });
  });

  test("a lock held by another pid than the state's does not keep a dead engine alive", async () => {
    const pid = await deadPid();
    const ev = judge("s", read("s", { pid, pid_start: "9" }), classify(lockOf()), false);
    expect(ev.status).toBe("crashed");
  });

  test("paused with a live engine stays paused; finished states are shown as stored", () => {
    expect(judge("s", read("s", { status: "paused" }), classify(lockOf()), true).status).toBe("paused");
    for (const status of ["complete", "failed", "killed"]) {
      const ev = judge("s", read("s", { status, pid: 999_999 }), { state: "none" }, false);
      expect(ev).toMatchObject({ status, alive: false });
    }
  });

  test("an unreadable state says why, and is never guessed at", () => {
    const bad = judge("s", parseState("{ not json"), { state: "none" }, false);
    expect(bad.status).toBe("unreadable");
    expect(bad.state).toBeNull();
    expect(bad.problem).toContain("not valid JSON");
    const wrong = judge("s", parseState(JSON.stringify(state("s", { status: "sleeping" }))), { state: "none" }, false);
    expect(wrong.status).toBe("unreadable");
    expect(wrong.problem).toContain("field status");
  });

  test("stalled: the running agent's output has not changed for stall_after seconds", () => {
    using root = tempRoot({ git: false });
    const out = join(root.path, "output.md");
    writeFileSync(out, "x");
    const old = new Date(Date.now() - 120_000);
    utimesSync(out, old, old);
    const base = { agent_pgids: [process.pid], agent_output: out };
    expect(judge("s", read("s", { ...base, stall_after: 60 }), classify(lockOf()), true).stalled).toBe(true);
    expect(judge("s", read("s", { ...base, stall_after: 600 }), classify(lockOf()), true).stalled).toBe(false);
    // Between iterations (no agent) nothing is stalled.
    expect(judge("s", read("s", { ...base, agent_pgids: [], stall_after: 60 }), classify(lockOf()), true).stalled).toBe(false);
  });
});

describe("overview (list)", () => {
  test("every session, live ones first, then newest started first (AGE's order), a corrupt state listed as unreadable among the others", async () => {
    using root = tempRoot({ git: false });
    const t = (s: number) => new Date(Date.now() - s * 1000).toISOString();
    writeSession(root.path, "old", { status: "complete", started_at: t(300), updated_at: t(200), completion_reason: "done" });
    writeSession(root.path, "live", { started_at: t(400), updated_at: t(1) }, {});
    writeSession(root.path, "dead", { pid: await deadPid(), pid_start: "5", started_at: t(150), updated_at: t(1) });
    writeSession(root.path, "broken", "{ torn");
    const { rows } = overview(root.path);
    // The unreadable state has no times: its directory's (just written) dates it.
    expect(rows.map((r) => [r.session, r.status])).toEqual([
      ["live", "running"],
      ["broken", "unreadable"],
      ["dead", "crashed"],
      ["old", "complete"],
    ]);
    const broken = rows.find((r) => r.session === "broken")!;
    expect(broken.problem).toContain("not valid JSON");
    expect(broken.note).toContain("not valid JSON");
    expect(rows.find((r) => r.session === "dead")!.note).toContain("sessions resume dead");
    expect(rows.find((r) => r.session === "old")!).toMatchObject({ target: "t", stage: "t", iteration: 2, max: 5, alive: false, tmux: false, note: "done" });
  });

  test("archived runs only with all; orphaned tmux sessions of this root listed, foreign ones apart", () => {
    using root = tempRoot({ git: false });
    writeSession(root.path, "a", { status: "complete" });
    writeSession(root.path, "a.20260101T000000", { status: "failed", error: { message: "boom", at: new Date().toISOString() } });
    const run = (args: string[]) => Bun.spawnSync(["tmux", ...args], { env: process.env });
    run(["new-session", "-d", "-s", "pipeline-ghost", "sleep 60", ";", "set-option", "-t", "=pipeline-ghost:", "@sessions_root", root.path]);
    run(["new-session", "-d", "-s", "pipeline-alien", "sleep 60"]);
    run(["new-session", "-d", "-s", "pipeline-elsewhere", "sleep 60", ";", "set-option", "-t", "=pipeline-elsewhere:", "@sessions_root", "/somewhere/else"]);
    try {
      const o = overview(root.path);
      expect(o.rows.map((r) => `${r.session}:${r.status}`).sort()).toEqual(["a:complete", "ghost:orphaned"]);
      expect(o.foreign).toEqual(["pipeline-alien"]);
      const all = overview(root.path, true);
      const archived = all.rows.find((r) => r.session === "a.20260101T000000")!;
      expect(archived).toMatchObject({ status: "failed", archived: true, note: "boom" });
    } finally {
      for (const s of ["ghost", "alien", "elsewhere"]) run(["kill-session", "-t", `=pipeline-${s}`]);
    }
  });

  test("a row's stage and cap come from stages[current_stage]; an old state's history is not read", () => {
    using root = tempRoot({ git: false });
    const stages = [
      { index: 0, id: "plan", stage: "p", kind: "stage", status: "complete", iterations: 3, max: 3 },
      { index: 1, id: "tasks", stage: "t", kind: "stage", status: "running", iterations: 1, max: 7 },
    ];
    writeSession(root.path, "two", { current_stage: 1, stages, history: "not an array: 0.1.0 kept history here" });
    expect(overview(root.path).rows[0]).toMatchObject({ session: "two", stage: "tasks", iteration: 2, max: 7, status: "running" });
  });
});

describe("inspect (status)", () => {
  test("the history comes from events.jsonl; totals (usage, git), the last decision and the current stage are derived", () => {
    using root = tempRoot({ git: false });
    const at = new Date().toISOString();
    const usage = { input_tokens: 100, output_tokens: 10, cache_read_tokens: 1000, cache_write_tokens: 5, cost_usd: 0.01, turns: 2, model: "m" };
    const git = (i: number) => (i === 2 ? { head_before: "a", head_after: "b", commits: [{ hash: "b", subject: "add x" }], files: ["x", "y"], files_changed: 2, lines_added: 7, lines_removed: 1 } : i === 3 ? { head_before: "b", head_after: "c", commits: [{ hash: "c", subject: "fix x" }], files: ["x"], files_changed: 1, lines_added: 1, lines_removed: 1 } : null);
    const history = Array.from({ length: 1000 }, (_, i) => ({ node: 0, stage: "t", provider: null, iteration: i + 1, decision: i === 999 ? "stop" : i === 5 ? "failed" : "continue", reason: `r${i + 1}`, summary: `s${i + 1}`, started_at: at, ended_at: at, duration_ms: 10, exit_code: 0, cost_usd: 0.01, usage, git: git(i) }));
    const dir = writeSession(root.path, "big", { status: "complete", iteration: 1000, iteration_completed: 1000 });
    writeFileSync(join(dir, "events.jsonl"), history.map((h) => JSON.stringify({ ts: at, type: "iteration_complete", session: "big", cursor: null, data: h })).join("\n") + "\n");
    const doc = inspect(root.path, "big");
    expect(doc).toMatchObject({ session: "big", status: "complete", alive: false, tmux: false, lock: null, current_stage_id: "t", max: 5, last: { iteration: 1000, decision: "stop", reason: "r1000", summary: "s1000" } });
    const totals = { iterations: 999, failures: 1, cost_usd: 10, tokens: { input: 100_000, output: 10_000, cache_read: 1_000_000, cache_write: 5000 }, commits: 2, files: 2, lines_added: 8, lines_removed: 2, duration_ms: 10_000 };
    expect(doc.totals).toEqual(totals);
    expect("stages" in doc && doc.stages[0]!.totals).toEqual(totals);
    expect(doc.commits).toEqual([
      { hash: "b", subject: "add x", stage: "t", provider: null, iteration: 3 },
      { hash: "c", subject: "fix x", stage: "t", provider: null, iteration: 4 },
    ]);
    expect(doc.history.length).toBe(1000);
    expect(Object.keys(doc.paths).sort()).toEqual(["events", "log", "plan", "progress", "run_dir", "state"]);
  });

  test("an unknown session is exit 3 and names the known ones", () => {
    using root = tempRoot({ git: false });
    writeSession(root.path, "here", { status: "complete" });
    let err: any;
    try {
      inspect(root.path, "nope");
    } catch (e) {
      err = e;
    }
    expect(err?.exit).toBe(3);
    expect(err.hint).toContain("here");
  });

  test("session names from the command line: valid names and archived runs, nothing that walks out", () => {
    expect(sessionRef("a-1")).toBe("a-1");
    expect(sessionRef("a.20260101T000000")).toBe("a.20260101T000000");
    for (const bad of ["../x", "a/b", "A", "a.b"]) expect(() => sessionRef(bad)).toThrow(/invalid session name/);
  });
});
