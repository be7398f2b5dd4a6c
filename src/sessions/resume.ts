import { readPlan } from "../defs/plan.ts";
import { replay, resumePoint, type ResumePoint } from "../engine/replay.ts";
import { conflict, failed } from "../lib/errors.ts";
import { checkSessionName } from "../lib/names.ts";
import { isSameProcess, selfName, waitFor } from "../lib/proc.ts";
import { readControl, writeControl, type Control } from "../store/control.ts";
import { readEvents } from "../store/events.ts";
import { releaseLock } from "../store/lock.ts";
import { runPaths } from "../store/paths.ts";
import { readState, type State } from "../store/state.ts";
import { killSession } from "../tmux.ts";
import { evidence, ownTmux, requireSession } from "./inspect.ts";
import { acquireLock, launch, requireTmux, type Launched } from "./launch.ts";
import { stopLeftovers } from "./stop.ts";

export interface ResumeRequest {
  root: string;
  session: string;
  foreground: boolean;
  keep: boolean;
  context?: string;
  /** --budget-usd / --budget-tokens: the session's budget from now on. */
  budget?: { usd?: number; tokens?: number };
  echo: "stdout" | "stderr";
}

const budgetGiven = (req: ResumeRequest) => req.budget?.usd !== undefined || req.budget?.tokens !== undefined;

/** What a resume tells the engine through control.json: go on, with this context and budget. */
function controlFor(req: ResumeRequest, old: Control | null): Control {
  const b = req.budget;
  const budget = budgetGiven(req) ? { usd: b?.usd ?? old?.budget?.usd ?? null, tokens: b?.tokens ?? old?.budget?.tokens ?? null } : (old?.budget ?? null);
  return { ...old, pause: false, context: req.context ?? old?.context ?? null, budget };
}

export interface Resumed extends Launched {
  target: string;
  resumed_at: ResumePoint;
  /** A paused engine was told to go on (no new engine was started). */
  unpaused: boolean;
}

/**
 * Continue a session: a paused engine is told to go on; a crashed, failed or killed one gets a new
 * engine on the same run directory, which replays events.jsonl so no completed iteration runs twice.
 */
export async function resume(req: ResumeRequest): Promise<Resumed> {
  const { root, session } = req;
  checkSessionName(session);
  requireSession(root, session);
  const paths = runPaths(root, session);
  const plan = readPlan(paths);
  const ev = evidence(root, session);
  const control = readControl(paths.dir);
  const at = () => resumePoint(plan, replay(readEvents(paths.events).events));

  if (ev.alive && ev.state) {
    if (ev.state.status !== "paused" && !control?.pause) {
      throw conflict(`session ${session} is running (engine pid ${ev.state.pid})`, {
        hint: `'${selfName()} pause ${session}' holds it, '${selfName()} kill ${session}' stops it`,
      });
    }
    return unpause(req, ev.state, plan.target.name, at());
  }
  refuseComplete(ev.state, "resume");

  if (!req.foreground) requireTmux();
  acquireLock(paths.lock, session, { takeStale: true, holder: req.foreground ? "engine" : "resume" });
  let point: ResumePoint;
  try {
    if (!req.foreground) {
      // A tmux session left open (--keep) or orphaned by a dead engine is in the way of the new one;
      // another project's same-named one is not: the new engine gets the other name (launch).
      const old = ownTmux(root, session);
      if (old) killSession(old.name);
    }
    // An agent that outlived its engine would otherwise run the same iteration as the new one.
    await stopLeftovers(ev.state);
    // A session killed while paused left pause:true behind; --context reaches the next iteration as
    // ${CONTEXT}, --budget-* the engine's budget check (plan.json stays as start froze it).
    if (control?.pause || req.context !== undefined || budgetGiven(req)) writeControl(paths.dir, controlFor(req, control));
    point = at();
  } catch (e) {
    releaseLock(paths.lock);
    throw e;
  }
  const launched = await launch({ root, session, plan, foreground: req.foreground, keep: req.keep || plan.keep, echo: req.echo, freshRunDir: false });
  return { ...launched, target: plan.target.name, resumed_at: point, unpaused: false };
}

/** A complete session has nothing left to run: resume and `run` refuse it rather than rewrite its record. */
export function refuseComplete(state: State | null, verb: "resume" | "run"): void {
  if (state?.status !== "complete") return;
  throw conflict(`session ${state.session} is complete: there is nothing to ${verb}`, {
    hint: `'${selfName()} start ${state.target} ${state.session} --force' runs it again (the old run is kept)`,
  });
}

/** Tell a paused (or pausing) engine to go on, and wait until its state says running again. */
async function unpause(req: ResumeRequest, s: State, target: string, point: ResumePoint): Promise<Resumed> {
  const paths = runPaths(req.root, req.session);
  const control = readControl(paths.dir);
  writeControl(paths.dir, controlFor(req, control));
  const { pid, pid_start } = s;
  const running = await waitFor(() => {
    const r = readState(paths.state);
    return (r.ok && r.state.status !== "paused") || !isSameProcess(pid, pid_start);
  }, 10_000, 50);
  if (!running) throw failed(`session ${req.session} did not leave pause within 10 s`, { hint: `see ${paths.log}` });
  let state = readState(paths.state);
  if (req.foreground) {
    // The engine runs elsewhere: --foreground waits for it to end, as a foreground run would.
    await waitFor(() => !isSameProcess(pid, pid_start), Number.MAX_SAFE_INTEGER, 250);
    state = readState(paths.state);
  }
  return {
    session: req.session,
    tmux: s.tmux ?? null,
    pid: pid ?? 0,
    run_dir: paths.dir,
    state: state.ok ? state.state : null,
    target,
    resumed_at: point,
    unpaused: true,
  };
}
