/** Rendering (list, status, tail lines) and the follow helpers (growing files, re-captured panes). */
import { describe, expect, test } from "bun:test";
import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FileFollower, linesAfter, newPaneLines } from "../../../src/sessions/follow.ts";
import type { StatusDoc } from "../../../src/sessions/inspect.ts";
import type { SessionRow } from "../../../src/sessions/overview.ts";
import { eventLine, listView, progressBar, statusView } from "../../../src/sessions/view.ts";
import type { SessionEvent } from "../../../src/store/events.ts";
import { tempRoot } from "../../helpers.ts";

const plain = (s: string) => Bun.stripANSI(s);
const NOW = Date.parse("2026-01-01T12:00:00Z");

function row(o: Partial<SessionRow>): SessionRow {
  return { session: "s", target: "t", status: "running", stage: "plan", iteration: 2, max: 5, started_at: "2026-01-01T11:58:00Z", updated_at: "2026-01-01T11:59:00Z", alive: true, tmux: true, stalled: false, cost_usd: null, tokens: null, problem: null, note: "", archived: false, ...o };
}

describe("listView", () => {
  test("one row per session with status, stage, n/max, cost (tokens where there is none), age and the health note; counts; foreign sessions apart", () => {
    const text = plain(
      listView(
        {
          rows: [
            row({ session: "a", stalled: true, cost_usd: 1.234, tokens: 50_000, note: "stalled: no agent output for over 15 min" }),
            row({ session: "b", status: "unreadable", target: null, stage: null, iteration: null, max: null, started_at: null, note: "state.json is not valid JSON" }),
            row({ session: "c", cost_usd: null, tokens: 310_400 }),
          ],
          foreign: ["pipeline-x"],
        },
        NOW,
      ),
    );
    const lines = text.split("\n");
    expect(lines[0]!.split(/\s+/)).toEqual(["SESSION", "TARGET", "STATUS", "STAGE", "ITER", "COST", "AGE", "HEALTH"]);
    expect(lines[1]).toMatch(/^a\s+t\s+running \(stalled\)\s+plan\s+2\/5\s+\$1\.23\s+2m00s\s+stalled: no agent output/);
    expect(lines[2]).toMatch(/^b\s+-\s+unreadable\s+-\s+-\s+-\s+1m00s\s+state\.json is not valid JSON$/);
    expect(lines[3]).toMatch(/^c\s+t\s+running\s+plan\s+2\/5\s+310k tok\s+2m00s/);
    expect(text).toContain("3 sessions: 2 running, 1 unreadable");
    expect(text).toContain("foreign tmux sessions (pipeline-* not started by sessions; left alone): pipeline-x");
  });

  test("no sessions: a hint to start one", () => {
    expect(plain(listView({ rows: [], foreign: [] }))).toContain("sessions start <target>");
  });
});

function doc(o: Record<string, unknown> = {}): StatusDoc {
  const history = Array.from({ length: 7 }, (_, i) => ({
    node: 0,
    stage: "plan",
    provider: null,
    iteration: i + 1,
    decision: i === 6 ? "failed" : "continue",
    reason: i === 6 ? "agent exited with code 3" : "more to do",
    summary: i === 6 ? null : `summary ${i + 1}`,
    started_at: "2026-01-01T11:00:00Z",
    ended_at: "2026-01-01T11:01:00Z",
    duration_ms: 60_000,
    exit_code: i === 6 ? 3 : 0,
    error_kind: null,
    cost_usd: 0.5,
    usage: { input_tokens: 1000, output_tokens: 200, cache_read_tokens: 50_000, cache_write_tokens: 300, cost_usd: 0.5, turns: 3, model: "m" },
    git: i === 5 ? { head_before: "a", head_after: "b", commits: [{ hash: "0123456789abcdef", subject: "plan: add the api section" }], files: ["plan.md"], files_changed: 1, lines_added: 12, lines_removed: 3 } : null,
    files_touched: [],
    items_completed: [],
  }));
  return {
    session: "s",
    type: "loop",
    target: "t",
    status: "failed",
    stored_status: "failed",
    unreadable: null,
    pid: 42,
    pid_start: "1",
    started_at: "2026-01-01T11:00:00Z",
    updated_at: "2026-01-01T11:10:00Z",
    completed_at: "2026-01-01T11:10:00Z",
    current_stage: 0,
    current_stage_id: "plan",
    iteration: 7,
    iteration_completed: 6,
    iteration_started: null,
    max: 10,
    agent_pgids: [],
    agent_output: null,
    stall_after: null,
    pause_requested: false,
    waiting_until: null,
    waiting_reason: null,
    attempts: 1,
    agents: {},
    totals: { iterations: 6, cost_usd: 3.5, failures: 1, tokens: { input: 7000, output: 1400, cache_read: 350_000, cache_write: 2100 }, commits: 1, files: 1, lines_added: 12, lines_removed: 3, duration_ms: 420_000 },
    budget: { usd: 5, tokens: null, spent_usd: 3.5, spent_tokens: 10_500 },
    commits: [{ hash: "0123456789abcdef", subject: "plan: add the api section", stage: "plan", provider: null, iteration: 6 }],
    stages: [{ index: 0, id: "plan", stage: "plan", kind: "stage", status: "failed", iterations: 6, max: 10, started_at: null, completed_at: null, reason: null }],
    history,
    completion_reason: null,
    error: { message: "iteration 7 of plan failed: agent exited with code 3", kind: "exit", at: "2026-01-01T11:10:00Z", stage: "plan", iteration: 7 },
    alive: false,
    tmux: false,
    stalled: false,
    lock: null,
    last: { iteration: 6, stage: "plan", decision: "continue", reason: "more to do", summary: "summary 6" },
    paths: { run_dir: "/r/s", state: "/r/s/state.json", events: "/r/s/events.jsonl", progress: "/r/s/progress-s.md", log: "/r/s/engine.log", plan: "/r/s/plan.json" },
    ...o,
  } as unknown as StatusDoc;
}

describe("statusView", () => {
  test("status, engine/lock/tmux, position, last decision, error, duration, totals, the last 5 iterations, paths, next step", () => {
    const text = plain(statusView(doc({ tmux: false }), { tty: false, now: NOW }));
    expect(text.split("\n")[0]).toBe("s  failed");
    expect(text).toContain("engine     pid 42 gone; no lock; tmux gone");
    expect(text).toContain("iteration  7/10 (6 done)");
    expect(text).not.toContain("[#");
    expect(text).toContain("last       #6 continue: more to do");
    expect(text).toContain("summary 6");
    expect(text).toContain("error      iteration 7 of plan failed: agent exited with code 3 [exit]");
    expect(text).toContain("duration   10m00s");
    expect(text).toContain("totals     6 iterations, 1 failed, 10.5k tokens (+350k cache reads), $3.50, 1 commit (1 file, +12 -3)");
    expect(text).toContain("budget     $3.50 of $5.00 (70%)");
    expect(text).toContain("commits    1 by this session");
    expect(text).toMatch(/0123456789 plan: add the api section \(#6 plan\)/);
    const recent = text.split("recent iterations\n")[1]!.split("\n\n")[0]!.split("\n");
    expect(recent.map((l) => l.trim().split(/\s+/)[0])).toEqual(["#3", "#4", "#5", "#6", "#7"]);
    expect(recent[4]).toContain("failed");
    expect(recent[4]).toContain("agent exited with code 3");
    expect(recent[3]).toContain("1.5k tok $0.50 1 commit");
    expect(text).toContain("state      /r/s/state.json");
    expect(text).toContain("sessions resume s");
  });

  test("a progress bar on a terminal only; waiting and paused are said", () => {
    const running = doc({ status: "running", alive: true, completed_at: null, error: null, waiting_until: "2026-01-01T12:30:00Z", waiting_reason: "usage limit" });
    expect(plain(statusView(running, { tty: true, now: NOW }))).toContain("[############--------] 60%");
    expect(plain(statusView(running, { tty: true, now: NOW }))).toMatch(/waiting\s+until \d\d:30:00 \(usage limit\)/);
    expect(plain(statusView(doc({ status: "paused", alive: true, error: null }), { tty: false, now: NOW }))).toContain("paused     yes: 'sessions resume s' continues");
  });

  test("a pause request is said only while the engine runs: a session killed while pausing holds nothing", () => {
    expect(plain(statusView(doc({ status: "running", alive: true, error: null, pause_requested: true }), { tty: false, now: NOW }))).toContain("paused     requested");
    for (const status of ["killed", "crashed", "failed"]) {
      expect(plain(statusView(doc({ status, pause_requested: true }), { tty: false, now: NOW }))).not.toContain("paused");
    }
  });

  test("an unverifiable lock says why and how to clear it", () => {
    const lock = { pid: 7, host: "old", started_at: "x", holder: "engine", stale: false, unverifiable: true, why: "taken on host old, this is new: its pid cannot be checked from here" };
    const text = plain(statusView(doc({ status: "crashed", lock }), { tty: false, now: NOW }));
    expect(text).toContain("lock pid 7 unverifiable (old)");
    expect(text).toContain("lock       taken on host old, this is new: its pid cannot be checked from here; if no engine of it runs anymore, 'sessions kill s' clears it");
  });

  test("an unreadable state: which file and what is wrong", () => {
    const d = { session: "s", status: "unreadable", stored_status: null, unreadable: "state.json is not valid JSON (Unexpected token)", alive: false, tmux: false, stalled: false, lock: null, last: null, paths: doc().paths } as unknown as StatusDoc;
    const text = plain(statusView(d, { tty: false }));
    expect(text).toContain("s  unreadable");
    expect(text).toContain("problem    /r/s/state.json: state.json is not valid JSON");
    expect(text).toContain("nothing was changed");
  });

  test("progressBar clamps", () => {
    expect(progressBar(0, 4, 4)).toBe("[----] 0%");
    expect(progressBar(9, 4, 4)).toBe("[####] 100%");
  });
});

describe("eventLine", () => {
  const ev = (type: string, data: Record<string, unknown>, cursor: SessionEvent["cursor"] = { node: 0, id: "plan", iteration: 3, provider: null }): SessionEvent => ({ ts: "2026-01-01T12:34:56.000Z", type, session: "s", cursor, data });
  const local = (iso: string) => new Date(iso).toTimeString().slice(0, 8);

  test("[HH:MM:SS] type node/id #iteration [provider]: what happened", () => {
    expect(plain(eventLine(ev("iteration_complete", { decision: "stop", summary: "all done", reason: "r" })))).toBe(`[${local("2026-01-01T12:34:56Z")}] iteration_complete 0/plan #3: stop — all done`);
    expect(plain(eventLine(ev("iteration_complete", { decision: "failed", reason: "timed out", summary: null }, { node: 1, id: "dual", iteration: 2, provider: "codex" })))).toContain("iteration_complete 1/dual #2 [codex]: failed — timed out");
    expect(plain(eventLine(ev("session_start", { target: "t", attempt: 1, nested: { a: 1 } }, null)))).toMatch(/\] session_start: target=t attempt=1$/);
    expect(plain(eventLine(ev("session_failed", { error: { message: "boom" } }, null)))).toMatch(/session_failed: boom$/);
  });
});

describe("follow helpers", () => {
  test("FileFollower returns complete lines only, keeps a partial line, restarts on a replaced file", () => {
    using root = tempRoot({ git: false });
    const f = join(root.path, "events.jsonl");
    writeFileSync(f, "old\n");
    const r = FileFollower.atEnd(f);
    expect(r.read()).toEqual([]);
    appendFileSync(f, "one\ntw");
    expect(r.read()).toEqual(["one"]);
    appendFileSync(f, "o\nthree\n");
    expect(r.read()).toEqual(["two", "three"]);
    writeFileSync(f, "new\n");
    expect(r.read()).toEqual(["new"]);
  });

  test("newPaneLines: what a sliding capture adds", () => {
    expect(newPaneLines([], ["a", "b"])).toEqual(["a", "b"]);
    expect(newPaneLines(["a", "b"], ["a", "b", "c"])).toEqual(["c"]);
    // The window slid: two lines scrolled off the top.
    expect(newPaneLines(["a", "b", "c", "d"], ["c", "d", "e", "f"])).toEqual(["e", "f"]);
    // The last line was still being written: it is shown again, in full.
    expect(newPaneLines(["a", "b", "par"], ["a", "b", "partial", "x"])).toEqual(["partial", "x"]);
    expect(newPaneLines(["a", "b"], ["a", "b"])).toEqual([]);
    // No overlap (cleared screen): all of it is new.
    expect(newPaneLines(["a", "b"], ["x", "y"])).toEqual(["x", "y"]);
  });

  test("linesAfter: the log lines after the last ones the pane showed", () => {
    expect(linesAfter(["x", "a", "b", ""], ["a", "b", "c", "d"])).toEqual(["c", "d"]);
    expect(linesAfter(["a  "], ["a", "c"])).toEqual(["c"]);
    expect(linesAfter(["z"], ["a", "b"])).toEqual(["a", "b"]);
  });
});
