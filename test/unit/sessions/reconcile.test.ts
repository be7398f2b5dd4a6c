/** cleanup's classification from hand-written run directories, locks and tmux listings. */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { groupAlive, pidStart } from "../../../src/lib/proc.ts";
import { fix, problems, scan } from "../../../src/sessions/reconcile.ts";
import type { TmuxSession } from "../../../src/tmux.ts";
import { tempRoot, usePrivateTmuxEnv, until, stateFixture } from "../../helpers.ts";

// fix() asks tmux what exists: a private, empty server.
usePrivateTmuxEnv();

const DEAD = 999_999;
const me = { pid: process.pid, pid_start: pidStart(process.pid) };

const state = (session: string, o: Record<string, unknown> = {}) => stateFixture(session, { pid: DEAD, pid_start: "1", ...o });

function session(root: string, name: string, st: Record<string, unknown> | string | null, lock?: Record<string, unknown> | string) {
  const dir = join(root, ".claude", "pipeline-runs", name);
  mkdirSync(dir, { recursive: true });
  if (st !== null) writeFileSync(join(dir, "state.json"), typeof st === "string" ? st : JSON.stringify(state(name, st)));
  if (lock !== undefined) {
    mkdirSync(join(root, ".claude", "locks"), { recursive: true });
    const full = typeof lock === "string" ? lock : JSON.stringify({ session: name, host: hostname(), started_at: new Date().toISOString(), version: "test", ...lock });
    writeFileSync(join(root, ".claude", "locks", `${name}.lock`), full);
  }
  return dir;
}

const tmuxSession = (name: string, root: string | null): TmuxSession => ({ name, root, created: 0, panePid: null, paneDead: false, attached: false });

/** A stand-in agent: its own process group, with (or without) the session's environment marker. */
async function agent(sessionName: string | null) {
  const p = Bun.spawn(["sleep", "30"], { detached: true, env: { PATH: process.env.PATH ?? "", ...(sessionName ? { PIPELINE_SESSION: sessionName } : {}) }, stdio: ["ignore", "ignore", "ignore"] });
  // Until exec, /proc shows the forked parent's environment.
  await until(() => readFileSync(`/proc/${p.pid}/comm`, "utf8") === "sleep\n", 5000, "the agent to start");
  return p;
}

describe("scan", () => {
  test("a healthy session is never reported", () => {
    using root = tempRoot({ git: false });
    session(root.path, "ok", { ...me }, { ...me });
    const r = scan(root.path, [tmuxSession("pipeline-ok", root.path)]);
    expect(problems(r, true)).toBe(0);
    expect(r).toEqual({ stale_locks: [], orphaned_tmux: [], zombie_states: [], foreign_tmux: [], unreadable: [], half_created: [], worktrees: [], fixed: false });
  });

  test("a dead engine: zombie state and stale lock", () => {
    using root = tempRoot({ git: false });
    session(root.path, "dead", { pid: DEAD }, { pid: DEAD, pid_start: "1" });
    const r = scan(root.path, []);
    expect(r.zombie_states).toEqual([{ session: "dead", status: "running", pid: DEAD, reason: `engine pid ${DEAD} is gone`, agent_pgids: [] }]);
    expect(r.stale_locks.map((l) => [l.session, l.pid, l.reason])).toEqual([["dead", DEAD, "process is gone"]]);
  });

  test("a reused pid (alive, other start time) is not the engine", () => {
    using root = tempRoot({ git: false });
    session(root.path, "reused", { status: "paused", pid: process.pid, pid_start: "1" }, { pid: process.pid, pid_start: "1" });
    const r = scan(root.path, []);
    expect(r.zombie_states.map((z) => [z.session, z.status, z.reason])).toEqual([["reused", "paused", `engine pid ${process.pid} now belongs to another process`]]);
    expect(r.stale_locks.map((l) => l.reason)).toEqual(["pid reused by another process"]);
  });

  test("finished sessions are fine; unreadable states and locks are reported", () => {
    using root = tempRoot({ git: false });
    session(root.path, "done", { status: "complete", pid: DEAD });
    session(root.path, "broken", "{ not json", "also { not json");
    const r = scan(root.path, []);
    expect(r.zombie_states).toEqual([]);
    expect(r.unreadable.map((u) => u.session)).toEqual(["broken"]);
    expect(r.unreadable[0]!.reason).toContain("not valid JSON");
    expect(r.stale_locks.map((l) => [l.session, l.pid, l.reason])).toEqual([["broken", null, "not a valid lock file"]]);
  });

  test("tmux: orphans of this root, foreign sessions reported, other roots ignored", () => {
    using root = tempRoot({ git: false });
    session(root.path, "done", { status: "complete" });
    session(root.path, "dead", { pid: DEAD });
    session(root.path, "ok", { ...me }, { ...me });
    const r = scan(root.path, [
      tmuxSession("pipeline-gone", root.path),
      tmuxSession("pipeline-done", root.path),
      tmuxSession("pipeline-dead", root.path),
      tmuxSession("pipeline-ok", root.path),
      tmuxSession("pipeline-foreign", null),
      tmuxSession("pipeline-other", "/somewhere/else"),
      tmuxSession("work", null),
    ]);
    expect(r.orphaned_tmux.map((o) => [o.name, o.reason])).toEqual([
      ["pipeline-gone", "no run directory"],
      ["pipeline-done", "session is complete"],
      ["pipeline-dead", `engine pid ${DEAD} is gone`],
    ]);
    expect(r.foreign_tmux.map((f) => f.name)).toEqual(["pipeline-foreign"]);
  });

  test("a session being started or resumed (live lock, old state) is left alone", () => {
    using root = tempRoot({ git: false });
    session(root.path, "resuming", { status: "failed", pid: DEAD }, { ...me });
    session(root.path, "starting", null, { ...me });
    const r = scan(root.path, [tmuxSession("pipeline-resuming", root.path), tmuxSession("pipeline-starting", root.path)]);
    expect(problems(r, true)).toBe(0);
  });

  test("an agent that outlived its engine is found; a reused process group is not", async () => {
    using root = tempRoot({ git: false });
    const mine = await agent("stray");
    const other = await agent(null);
    try {
      session(root.path, "stray", { agent_pgids: [mine.pid] });
      session(root.path, "reused-group", { agent_pgids: [other.pid] });
      const r = scan(root.path, []);
      expect(r.zombie_states.map((z) => [z.session, z.agent_pgids])).toEqual([
        ["reused-group", []],
        ["stray", [mine.pid]],
      ]);
    } finally {
      mine.kill("SIGKILL");
      other.kill("SIGKILL");
    }
  });

  test("worktrees of finished parallel sessions are listed, not those of running ones", () => {
    using root = tempRoot({ git: false });
    const done = session(root.path, "done", { status: "killed" });
    const live = session(root.path, "live", { ...me }, { ...me });
    for (const d of [done, live]) mkdirSync(join(d, "parallel-01-dual", "providers", "codex", "worktree"), { recursive: true });
    const r = scan(root.path, []);
    expect(r.worktrees).toEqual([{ session: "done", path: join(done, "parallel-01-dual", "providers", "codex", "worktree"), reason: "session is killed" }]);
    expect(problems(r, false)).toBe(0);
    expect(problems(r, true)).toBe(1);
  });

  test("a pipeline that ran several times: each run's worktrees are listed", () => {
    using root = tempRoot({ git: false });
    const done = session(root.path, "twice", { status: "complete" });
    for (const run of ["run-01", "run-02"]) mkdirSync(join(done, run, "parallel-00-dual", "providers", "codex", "worktree"), { recursive: true });
    expect(scan(root.path, []).worktrees.map((w) => w.path)).toEqual(["run-01", "run-02"].map((run) => join(done, run, "parallel-00-dual", "providers", "codex", "worktree")));
  });
});

describe("fix", () => {
  test("kills the stray agent, marks the zombie failed, removes stale locks only", async () => {
    using root = tempRoot({ git: false });
    const stray = await agent("zombie");
    try {
      const dir = session(root.path, "zombie", { agent_pgids: [stray.pid] }, { pid: DEAD, pid_start: "1" });
      session(root.path, "ok", { ...me }, { ...me });
      const r = await fix(root.path, scan(root.path, []), { worktrees: false });
      expect(r.fixed).toBe(true);
      expect(r.zombie_states.map((z) => [z.session, z.fixed])).toEqual([["zombie", true]]);
      expect(r.stale_locks.map((l) => [l.session, l.fixed])).toEqual([["zombie", true]]);
      expect(await stray.exited).not.toBe(0);
      expect(groupAlive(stray.pid)).toBe(false);
      const s = JSON.parse(readFileSync(join(dir, "state.json"), "utf8"));
      expect([s.status, s.error.message, s.error.kind, s.agent_pgids, s.stages[0].status]).toEqual(["failed", "engine died", "crash", [], "failed"]);
      expect(s.completed_at).toBeString();
      const events = readFileSync(join(dir, "events.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
      expect(events.map((e) => [e.type, e.data.error.message])).toEqual([["session_failed", "engine died"]]);
      expect(existsSync(join(root.path, ".claude", "locks", "zombie.lock"))).toBe(false);
      expect(existsSync(join(root.path, ".claude", "locks", "ok.lock"))).toBe(true);
      expect(JSON.parse(readFileSync(join(root.path, ".claude", "pipeline-runs", "ok", "state.json"), "utf8")).status).toBe("running");
    } finally {
      stray.kill("SIGKILL");
    }
  });

  test("a finding that healed since the scan is left alone", async () => {
    using root = tempRoot({ git: false });
    const dir = session(root.path, "back", { pid: DEAD });
    const found = scan(root.path, []);
    // Resumed meanwhile: a live engine now owns it.
    writeFileSync(join(dir, "state.json"), JSON.stringify(state("back", { ...me })));
    const r = await fix(root.path, found, { worktrees: false });
    expect(r.zombie_states.map((z) => [z.fixed, z.note])).toEqual([[false, "no longer a zombie: its engine runs again"]]);
    expect(JSON.parse(readFileSync(join(dir, "state.json"), "utf8")).status).toBe("running");
  });

  test("an archived run is settled in its own directory, never in the current session's", async () => {
    using root = tempRoot({ git: false });
    const current = session(root.path, "x", { status: "complete" });
    const before = readFileSync(join(current, "state.json"), "utf8");
    // `start --force` kept a crashed run: its state still says running, and session: "x".
    const archived = session(root.path, "x.20261201T120000", null);
    writeFileSync(join(archived, "state.json"), JSON.stringify(state("x")));
    const found = scan(root.path, []);
    expect(found.zombie_states.map((z) => z.session)).toEqual(["x.20261201T120000"]);
    const r = await fix(root.path, found, { worktrees: false });
    expect(r.zombie_states.map((z) => z.fixed)).toEqual([true]);
    expect(readFileSync(join(current, "state.json"), "utf8")).toBe(before);
    expect(existsSync(join(current, "events.jsonl"))).toBe(false);
    expect(JSON.parse(readFileSync(join(archived, "state.json"), "utf8")).status).toBe("failed");
    expect(existsSync(join(archived, "events.jsonl"))).toBe(true);
    expect(problems(scan(root.path, []), false)).toBe(0);
  });

  test("a session taken by a live start or resume after the scan is left alone, its agent untouched", async () => {
    using root = tempRoot({ git: false });
    const stray = await agent("back");
    try {
      const dir = session(root.path, "back", { agent_pgids: [stray.pid] });
      const found = scan(root.path, []);
      expect(found.zombie_states.map((z) => z.session)).toEqual(["back"]);
      // A resume took the lock between the scan and the fix.
      session(root.path, "back", { agent_pgids: [stray.pid] }, { ...me, holder: "resume" });
      const r = await fix(root.path, found, { worktrees: false });
      expect(r.zombie_states[0]).toMatchObject({ fixed: false });
      expect(r.zombie_states[0]!.note).toContain("being resumed");
      expect(groupAlive(stray.pid)).toBe(true);
      expect(JSON.parse(readFileSync(join(dir, "state.json"), "utf8")).status).toBe("running");
      expect(JSON.parse(readFileSync(join(root.path, ".claude", "locks", "back.lock"), "utf8")).holder).toBe("resume");
    } finally {
      stray.kill("SIGKILL");
    }
  });

  test("a half-created run directory (plan.json, no state, no events) is reported and removed", async () => {
    using root = tempRoot({ git: false });
    const dir = session(root.path, "half", null);
    writeFileSync(join(dir, "plan.json"), "{}");
    const busy = session(root.path, "busy", null, { ...me, holder: "start" });
    writeFileSync(join(busy, "plan.json"), "{}");
    const found = scan(root.path, []);
    expect(found.half_created.map((h) => h.session)).toEqual(["half"]);
    expect(problems(found, false)).toBe(1);
    const r = await fix(root.path, found, { worktrees: false });
    expect(r.half_created.map((h) => h.fixed)).toEqual([true]);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(busy)).toBe(true);
  });

  test("a lock of another host or without pid_start is reported as unverifiable and removed by a fix", async () => {
    using root = tempRoot({ git: false });
    session(root.path, "moved", { pid: DEAD }, { pid: process.pid, pid_start: me.pid_start, host: "old-container" });
    session(root.path, "nostart", { pid: DEAD }, { pid: process.pid, pid_start: null });
    const found = scan(root.path, []);
    expect(found.stale_locks.map((l) => [l.session, l.reason.split(":")[0]]).sort()).toEqual([
      ["moved", "cannot be verified"],
      ["nostart", "cannot be verified"],
    ]);
    expect(found.zombie_states.map((z) => z.session).sort()).toEqual(["moved", "nostart"]);
    const r = await fix(root.path, found, { worktrees: false });
    expect([...r.stale_locks, ...r.zombie_states].map((x) => x.fixed)).toEqual([true, true, true, true]);
    expect(existsSync(join(root.path, ".claude", "locks", "moved.lock"))).toBe(false);
  });

  test("an unreadable state is reported, never rewritten", async () => {
    using root = tempRoot({ git: false });
    const dir = session(root.path, "broken", "{ not json");
    await fix(root.path, scan(root.path, []), { worktrees: false });
    expect(readFileSync(join(dir, "state.json"), "utf8")).toBe("{ not json");
  });
});
