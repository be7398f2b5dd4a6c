import { existsSync } from "node:fs";
import * as v from "valibot";
import { PlanSchema, type Plan } from "../defs/plan.ts";
import { errorMessage, failed, invalid, notFound } from "../lib/errors.ts";
import { readText } from "../store/fsx.ts";
import { acquireLock, releaseLock, transferLock } from "../store/lock.ts";
import { runPaths, type RunPaths } from "../store/paths.ts";
import type { State } from "../store/state.ts";
import { Engine } from "./engine.ts";
import { EngineLog } from "./log.ts";

export function readPlan(paths: RunPaths): Plan {
  const text = readText(paths.plan);
  if (text === null) throw notFound(`no plan.json in ${paths.dir}`, { hint: "start the session with 'sessions start'" });
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw invalid(`plan.json is not valid JSON: ${errorMessage(e)}`, { where: { file: paths.plan } });
  }
  const r = v.safeParse(PlanSchema, data);
  if (!r.success) {
    const i = r.issues[0];
    throw invalid(`plan.json is invalid: ${i.path?.map((p) => p.key).join(".") ?? ""} ${i.message}`, { where: { file: paths.plan } });
  }
  return r.output;
}

export interface RunOptions {
  root: string;
  session: string;
  /** The lock was taken by `start` (pid given) and is handed to this process. */
  handoff?: number;
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
  if (!existsSync(paths.dir)) throw notFound(`session ${o.session} has no run directory`, { hint: "start it with 'sessions start'" });
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
  let engine: Engine | null = null;
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
    engine = new Engine({ plan, paths, log, resume: existsSync(paths.events) });
    state = await engine.run();
  } catch (e) {
    log.line(`engine error: ${errorMessage(e)}`);
    if (engine) {
      const s = engine.state;
      s.status = "failed";
      s.error = { message: `engine error: ${errorMessage(e)}`, kind: "engine", at: new Date().toISOString(), stage: s.current_stage_id, iteration: s.iteration };
      s.agent_pgid = null;
      s.agent_pgids = [];
      try {
        engine.event("session_failed", null, { error: s.error });
        engine.save();
      } catch {}
    }
    throw failed(`engine error: ${errorMessage(e)}`, { hint: `see ${paths.log}` });
  } finally {
    for (const s of signals) process.off(s, onSignal);
    releaseLock(paths.lock);
  }
  // After the lock is gone: a slow notifier must not hold the session.
  await engine.announce();
  return state;
}
