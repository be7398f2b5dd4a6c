import { existsSync, rmSync } from "node:fs";
import type { Plan } from "../defs/plan.ts";
import { runSession } from "../engine/run.ts";
import { conflict, failed } from "../lib/errors.ts";
import { selfArgv, selfName, sleep, waitFor } from "../lib/proc.ts";
import { readText } from "../store/fsx.ts";
import { acquireLock, readLock, releaseLock } from "../store/lock.ts";
import { runPaths } from "../store/paths.ts";
import { readState, RUNNING, type State } from "../store/state.ts";
import { hasSession, killSession, listSessions, newSession, requireTmux, type TmuxSession } from "../tmux.ts";
import { tmuxNames } from "../lib/names.ts";

export interface Launched {
  session: string;
  tmux: string | null;
  pid: number;
  run_dir: string;
  state: State | null;
}

export interface LaunchOptions {
  root: string;
  session: string;
  plan: Plan;
  foreground: boolean;
  keep: boolean;
  /** The caller already holds the lock (taken before the run directory was touched). */
  echo: "stdout" | "stderr";
  /** Remove the run directory if the engine never started (a fresh start creates nothing on failure). */
  freshRunDir: boolean;
}

/**
 * Hand a prepared run directory to an engine: in this process (foreground), or in a new tmux session,
 * reporting success only once the engine has taken the lock and written its state.
 */
export async function launch(o: LaunchOptions): Promise<Launched> {
  const paths = runPaths(o.root, o.session);
  if (o.foreground) {
    const state = await runSession({
      root: o.root,
      session: o.session,
      lockHeld: true,
      tmux: null,
      echo: o.echo,
      interactive: true,
    });
    return { session: o.session, tmux: null, pid: process.pid, run_dir: paths.dir, state };
  }
  let name: string;
  try {
    name = pickTmuxName(o.root, o.session);
  } catch (e) {
    abandon(o, paths.dir);
    throw e;
  }
  const before = readState(paths.state);
  const oldPid = before.ok ? before.state.pid : null;
  const r = newSession({
    name,
    cwd: o.root,
    // The handoff is in the argv tmux runs, so `ps` and the pane show what the engine was given.
    argv: [...selfArgv(), "run", o.session, "--root", o.root, "--handoff", String(process.pid), "--tmux", name],
    root: o.root,
    keep: o.keep,
  });
  if (r.code !== 0) {
    abandon(o, paths.dir);
    throw failed(`tmux could not create session ${name}: ${r.stderr || `exit ${r.code}`}`, { hint: `run '${selfName()} doctor'` });
  }
  // Confirmed when the engine holds the lock and its state says running with its pid, or when a new
  // engine's state says it already ended (a kill that waited for this handoff can be that quick).
  const confirmed = await waitFor(
    () => {
      const s = readState(paths.state);
      if (!s.ok || !s.state.pid || s.state.pid === process.pid || s.state.pid === oldPid) return null;
      const l = readLock(paths.lock);
      if (l.state === "live" && l.lock.pid === s.state.pid) return { pid: s.state.pid, state: s.state };
      return RUNNING.has(s.state.status) ? null : { pid: s.state.pid, state: s.state };
    },
    10_000,
    5,
  );
  if (confirmed) return { session: o.session, tmux: name, pid: confirmed.pid, run_dir: paths.dir, state: confirmed.state };
  await sleep(50);
  const logTail = (readText(paths.log) ?? "").trim().split("\n").slice(-3).join(" | ");
  const alive = hasSession(name);
  if (alive && !o.keep) killSession(name);
  abandon(o, paths.dir);
  throw failed(`the engine did not start${logTail ? `: ${logTail}` : alive ? " within 10 s" : " (its tmux session ended at once)"}`, {
    hint: `run it in the foreground to see why: ${selfName()} start ... --foreground`,
  });
}

/**
 * The tmux name a new engine of this root gets: `pipeline-<session>`, or the root-tagged one when
 * the server already has that name (another project's session, or one sessions did not make).
 */
export function pickTmuxName(root: string, session: string, all: TmuxSession[] = listSessions()): string {
  const names = tmuxNames(root, session);
  const free = names.find((n) => !all.some((t) => t.name === n));
  if (free) return free;
  const holders = names.map((n) => {
    const t = all.find((x) => x.name === n)!;
    return `${n} (${t.root === root ? "this project" : t.root ? `project ${t.root}` : "not made by sessions"})`;
  });
  throw conflict(`no tmux name is free for session ${session} on this tmux server: ${holders.join(", ")}`, {
    hint: `give the session another name: '${selfName()} start <target> <other-name>'`,
    details: { tmux: names },
  });
}

function abandon(o: LaunchOptions, dir: string): void {
  const paths = runPaths(o.root, o.session);
  releaseLock(paths.lock);
  // An engine that wrote events ran: its run directory is a session's, not debris.
  if (o.freshRunDir && !existsSync(paths.events)) rmSync(dir, { recursive: true, force: true });
}

export { acquireLock, requireTmux };
