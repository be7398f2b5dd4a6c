import { existsSync } from "node:fs";
import { readPlan, type Plan } from "../defs/plan.ts";
import { errorMessage, failed, notFound } from "../lib/errors.ts";
import { acquireLock, keepWithError, releaseLock, transferLock } from "../store/lock.ts";
import { runPaths } from "../store/paths.ts";
import { readState, type State } from "../store/state.ts";
import { Engine } from "./engine.ts";
import { killCgroup } from "../lib/cgroup.ts";
import { EngineLog } from "./log.ts";
import { announce } from "./notify.ts";
import { selfName } from "../lib/proc.ts";

export interface RunOptions {
  root: string;
  session: string;
  /** The lock was taken by `start` (pid given) and is handed to this process. */
  handoff?: number;
  /** The tmux session this engine runs in (null in the foreground). */
  tmux: string | null;
  /** This process already holds the lock (start --foreground). */
  lockHeld?: boolean;
  /** Take over a stale lock (resume of a crashed session). */
  takeStale?: boolean;
  /** Where agent output is echoed: stdout normally, stderr when stdout carries JSON. */
  echo: "stdout" | "stderr";
  /** Foreground: a first SIGINT (Ctrl-C) lets the iteration finish, a second stops now. */
  interactive: boolean;
}

/** The engine process: take the lock, run the plan, and always leave an honest state and no lock. */
export async function runSession(o: RunOptions): Promise<State> {
  const paths = runPaths(o.root, o.session);
  if (!existsSync(paths.dir)) throw notFound(`session ${o.session} has no run directory`, { hint: `start it with '${selfName()} start'` });
  const log = new EngineLog(paths.log, o.echo === "stdout" ? process.stdout : process.stderr);
  let plan: Plan;
  try {
    if (o.handoff) transferLock(paths.lock, o.session, o.handoff);
    else if (!o.lockHeld) acquireLock(paths.lock, o.session, { takeStale: o.takeStale });
    plan = readPlan(paths);
  } catch (e) {
    // In tmux the pane closes with the engine: engine.log is where `start` finds why it did not start.
    log.line(`engine did not start: ${errorMessage(e)}`);
    if (o.handoff || o.lockHeld) releaseLock(paths.lock);
    throw e;
  }
  // What a dead engine's agents left running (however detached) ends before this one starts.
  const previous = readState(paths.state);
  if (previous.ok) await killCgroup(previous.state.cgroup);
  let engine: Engine | null = null;
  let keptLock = false;
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (!engine) return;
    if (sig === "SIGINT" && o.interactive && interrupts++ === 0) engine.stopSoon(sig);
    else engine.kill(sig);
  };
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  for (const s of signals) process.on(s, onSignal);
  let state: State;
  try {
    engine = new Engine({ plan, paths, log, resume: existsSync(paths.events), tmux: o.tmux });
    state = await engine.run();
  } catch (e) {
    const message = `engine error: ${errorMessage(e)}`;
    log.line(message);
    // Unable to write even that into state.json: the lock keeps it, stale, so status can say why.
    if (!engine?.failWith(message)) keptLock = keepWithError(paths.lock, message);
    throw failed(message, { hint: `see ${paths.log}` });
  } finally {
    for (const s of signals) process.off(s, onSignal);
    // Anything an agent left running, however it detached, ends with its session.
    await killCgroup(engine?.state.cgroup ?? null);
    if (!keptLock) releaseLock(paths.lock);
  }
  // After the lock is gone: a slow notifier must not hold the session.
  await announce(plan, state);
  return state;
}
