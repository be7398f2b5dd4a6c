import { statSync } from "node:fs";
import { ARCHIVED_RUN, checkSessionName, sessionOfTmux, TMUX_PREFIX } from "../lib/names.ts";
import { lockOf, readLock } from "../store/lock.ts";
import { rootPaths, runPaths } from "../store/paths.ts";
import { currentStage, readState, type DisplayStatus } from "../store/state.ts";
import { listSessions } from "../tmux.ts";
import { judge, ownTmux, sessionNames, type Evidence } from "./inspect.ts";
import { selfName } from "../lib/proc.ts";
import { listDir } from "../store/fsx.ts";

/** One row of `list` (DESIGN §6): the displayed status from the same evidence `status` uses. */
export interface SessionRow {
  session: string;
  target: string | null;
  status: DisplayStatus | "orphaned";
  stage: string | null;
  iteration: number | null;
  max: number | null;
  started_at: string | null;
  updated_at: string | null;
  alive: boolean;
  tmux: boolean;
  stalled: boolean;
  /** What the session spent so far (state.json's spend): USD where its agents report it, and tokens. */
  cost_usd: number | null;
  tokens: number | null;
  problem: string | null;
  /** One line on the session's health: why it failed, what it waits for, what to do. */
  note: string;
  /** A `{session}.{timestamp}` run directory kept by `start --force` (only with --all). */
  archived: boolean;
}

export interface Overview {
  rows: SessionRow[];
  /** `pipeline-*` tmux sessions without our root marker: not ours, never touched. */
  foreign: string[];
}

/**
 * Every session of a root, running ones first, then newest first. Reads only lock files and state.json (never iteration
 * files) and asks tmux once, so it stays fast with hundreds of sessions.
 */
export function overview(root: string, all = false): Overview {
  const tmux = listSessions();
  const names = sessionNames(root, all);
  const known = new Set(names);
  // One readdir instead of a failing open per session: most finished sessions hold no lock.
  const locks = new Set(listDir(rootPaths(root).locks));
  const owned = new Set<string>();
  const rows = names.map((name) => {
    const p = runPaths(root, name);
    const lock = locks.has(`${name}.lock`) ? readLock(p.lock) : ({ state: "none" } as const);
    const own = ownTmux(root, name, tmux);
    if (own) owned.add(own.name);
    return toRow(root, judge(name, readState(p.state), lock, own !== null));
  });
  const foreign: string[] = [];
  for (const t of tmux) {
    if (!t.name.startsWith(TMUX_PREFIX) || owned.has(t.name)) continue;
    if (t.root === null) foreign.push(t.name);
    else if (t.root === root) rows.push(orphan(t.name, sessionOfTmux(root, t.name, (s) => known.has(s))!, t.created));
  }
  // Live sessions first; then newest first, by the start time that AGE counts from.
  rows.sort((a, b) => Number(b.alive) - Number(a.alive) || rowTime(b) - rowTime(a) || a.session.localeCompare(b.session));
  return { rows, foreign: foreign.sort() };
}

/** When a row started (what AGE counts from), for sorting and AGE alike. */
export const rowTime = (r: SessionRow) => Date.parse(r.started_at ?? r.updated_at ?? "") || 0;

function toRow(root: string, ev: Evidence): SessionRow {
  const s = ev.state;
  const archived = ev.session.includes(".");
  const flags = { alive: ev.alive, tmux: ev.tmux, stalled: ev.stalled, problem: ev.problem };
  if (!s) {
    // No state to date the row: the run directory's own time still orders it.
    const updated_at = mtimeIso(runPaths(root, ev.session).dir);
    const none = { target: null, status: ev.status, stage: null, iteration: null, max: null, started_at: null, updated_at, cost_usd: null, tokens: null };
    return { session: ev.session, ...none, ...flags, note: ev.problem ?? "", archived };
  }
  return {
    session: ev.session,
    target: s.target,
    status: ev.status,
    stage: currentStage(s)?.id ?? null,
    iteration: s.iteration,
    max: currentStage(s)?.max ?? null,
    started_at: s.started_at,
    updated_at: s.updated_at,
    cost_usd: s.spend?.cost_usd ?? null,
    tokens: s.spend?.tokens ?? null,
    ...flags,
    note: healthNote(ev, archived),
    archived,
  };
}

function orphan(name: string, session: string, created: number): SessionRow {
  return {
    session,
    target: null,
    status: "orphaned",
    stage: null,
    iteration: null,
    max: null,
    started_at: created ? new Date(created).toISOString() : null,
    updated_at: null,
    alive: false,
    tmux: true,
    stalled: false,
    cost_usd: null,
    tokens: null,
    problem: `tmux session ${name} has no run directory`,
    note: `tmux session without a run directory: '${selfName()} cleanup' removes it`,
    archived: false,
  };
}

/** What a reader should know about a session beyond its status word. */
function healthNote(ev: Evidence, archived: boolean): string {
  const s = ev.state;
  if (!s) return ev.problem ?? "";
  const notes: string[] = [];
  switch (ev.status) {
    case "crashed":
      notes.push(`engine pid ${s.pid ?? "?"} is gone${ev.tmux ? " (tmux still open)" : ""}`);
      if (lockOf(ev.lock)?.error) notes.push(lockOf(ev.lock)!.error!);
      if (!archived) notes.push(`'${selfName()} resume ${ev.session}'`);
      break;
    case "failed":
    case "killed":
      if (s.error) notes.push(s.error.message);
      break;
    case "complete":
      if (s.completion_reason) notes.push(s.completion_reason);
      break;
    case "paused":
      notes.push(`paused: '${selfName()} resume ${ev.session}'`);
      break;
    case "running":
      if (ev.stalled) notes.push(`stalled: no agent output for over ${Math.round((s.stall_after ?? 0) / 60)} min`);
      if (s.waiting_until) notes.push(`waiting until ${clock(s.waiting_until)}${s.waiting_reason ? ` (${s.waiting_reason})` : ""}`);
      if (!ev.tmux && !s.tmux) notes.push("foreground");
      break;
  }
  // A crashed engine leaves its lock behind; resume takes it over, so only other stale locks are news.
  if (ev.lock.state === "stale" && ev.status !== "crashed") notes.push(`stale lock (pid ${ev.lock.lock.pid}): '${selfName()} cleanup'`);
  if (ev.lock.state === "unreadable") notes.push("unreadable lock file");
  if (ev.lock.state === "unverifiable") notes.push(`unverifiable lock (${ev.lock.why}): 'sessions kill ${ev.session}' clears it`);
  return notes.join("; ");
}

/** HH:MM:SS in local time. */
export function clock(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
}

function mtimeIso(path: string): string | null {
  try {
    return statSync(path).mtime.toISOString();
  } catch {
    return null;
  }
}

/** A session name given on the command line: a valid name, or an archived `{session}.{timestamp}` run. */
export function sessionRef(name: string): string {
  return ARCHIVED_RUN.test(name) ? name : checkSessionName(name);
}

