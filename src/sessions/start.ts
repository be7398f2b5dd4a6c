import { existsSync, mkdirSync, renameSync } from "node:fs";
import { dirname, join } from "node:path";
import { throwIfErrors, type Diagnostic } from "../defs/diagnostics.ts";
import type { Plan, ProviderPlan } from "../defs/plan.ts";
import { findTarget } from "../defs/find.ts";
import { buildPlan, type PlanOptions } from "../defs/resolve.ts";
import { LIMITS, ProviderName } from "../defs/schema.ts";
import { conflict, usage } from "../lib/errors.ts";
import { archiveName, checkSessionName, DEF_NAME, defaultSessionName } from "../lib/names.ts";
import { isSameProcess, selfName } from "../lib/proc.ts";
import { ensureIgnoredDir, writeJsonAtomic } from "../store/fsx.ts";
import { acquireLock, held, readLock, releaseLock } from "../store/lock.ts";
import { looksLikePath } from "../defs/find.ts";
import { rootPaths, runPaths } from "../store/paths.ts";
import { readState, RUNNING } from "../store/state.ts";
import { listSessions, requireTmux } from "../tmux.ts";
import { ownTmux } from "./inspect.ts";
import { launch, pickTmuxName, type Launched } from "./launch.ts";
import { stopLeftovers } from "./stop.ts";

export interface StartRequest {
  root: string;
  target: string;
  session?: string;
  max?: number;
  provider?: string;
  model?: string;
  command?: string;
  context?: string;
  inputs: string[];
  delay?: number;
  timeout?: number;
  runs?: number;
  force: boolean;
  foreground: boolean;
  keep: boolean;
  notify: boolean;
  /** --budget-usd, --budget-tokens, --on-complete, --on-fail. */
  budgetUsd?: number;
  budgetTokens?: number;
  onComplete?: string;
  onFail?: string;
  echo: "stdout" | "stderr";
}

export interface Prepared {
  plan: Plan;
  warnings: Diagnostic[];
  /** Things that will likely stop an agent, said up front. */
  notes: string[];
}

/** Everything `start` checks before it creates anything: names, definitions, agents, tmux. */
export function prepare(req: StartRequest): Prepared {
  if (!looksLikePath(req.target) && !DEF_NAME.test(req.target)) {
    throw usage(`invalid target ${JSON.stringify(req.target)}`, { hint: "a stage or pipeline name (lower-case letters, digits, '-', '_'), or a path to a .yaml file" });
  }
  const target = findTarget(req.root, req.target);
  const session = checkSessionName(req.session ?? defaultSessionName(target.name));
  const provider = req.provider as ProviderPlan["name"] | undefined;
  if (provider && !ProviderName.options.includes(provider)) {
    throw usage(`unknown provider ${JSON.stringify(req.provider)}`, { hint: "use claude, codex or command" });
  }
  if (provider === "command" && !req.command) throw usage("--provider command needs --command '<agent command line>'");
  const opts: PlanOptions = {
    session,
    max: req.max,
    provider,
    model: req.model,
    command: req.command,
    context: req.context,
    inputs: req.inputs,
    delay: req.delay,
    timeout: req.timeout,
    runs: req.runs,
    keep: req.keep,
    notify: req.notify,
    budgetUsd: req.budgetUsd,
    budgetTokens: req.budgetTokens,
    onComplete: req.onComplete,
    onFail: req.onFail,
    resolveBins: true,
  };
  const diags: Diagnostic[] = [];
  const plan = buildPlan(req.root, target, opts, diags);
  throwIfErrors(diags);
  if (!plan) throw usage(`could not resolve ${req.target}`);
  return { plan, warnings: diags.filter((d) => d.level === "warning"), notes: agentNotes(plan) };
}

/** What will make an agent refuse to run, said before the session starts rather than at iteration 1. */
export function agentNotes(plan: Plan, uid = process.getuid?.(), env = process.env): string[] {
  const providers = plan.nodes.flatMap((n) => (n.kind === "stage" ? [n.provider] : n.providers.map((p) => p.provider)));
  const notes: string[] = [];
  if (uid === 0 && !env.IS_SANDBOX && providers.some((p) => p.name === "claude")) {
    notes.push("running as root: claude refuses --dangerously-skip-permissions unless IS_SANDBOX=1 is set (in a container or sandbox)");
  }
  return notes;
}

export async function start(req: StartRequest, prepared: Prepared): Promise<Launched> {
  const { plan } = prepared;
  const session = plan.session;
  const paths = runPaths(req.root, session);
  if (!req.foreground) {
    requireTmux();
    const tmux = listSessions();
    const own = ownTmux(req.root, session, tmux);
    if (own) {
      // A racing start that got there first: say who holds the name.
      const lock = readLock(paths.lock);
      if (lock.state === "live") throw held(session, lock.lock);
      refuseLiveEngine(paths.state, session);
      throw conflict(`tmux session ${own.name} already exists${lock.state !== "none" ? "" : " (not started by a running engine)"}`, {
        hint: `'${selfName()} status ${session}' shows it; '${selfName()} kill ${session}' or '${selfName()} cleanup' removes it`,
      });
    }
    pickTmuxName(req.root, session, tmux); // refuses before anything is created when no name is free
  }
  acquireLock(paths.lock, session, { takeStale: req.force, holder: req.foreground ? "engine" : "start" });
  let fresh = false;
  try {
    if (existsSync(paths.dir)) {
      const s = readState(paths.state);
      const what = s.ok ? `status ${s.state.status}` : s.missing ? "no state" : "unreadable state";
      if (!req.force) {
        const resumable = !(s.ok && s.state.status === "complete");
        throw conflict(`session ${session} already ran (${what}); its run directory is kept`, {
          hint: `${resumable ? `'${selfName()} resume ${session}' continues it; ` : ""}--force starts over (the old run is kept as ${session}.<timestamp>)`,
        });
      }
      refuseLiveEngine(paths.state, session);
      // A crashed run's agent would go on writing into the new run.
      await stopLeftovers(s.ok ? s.state : null);
      archive(paths.dir, session);
    }
    ensureIgnoredDir(rootPaths(req.root).runs);
    mkdirSync(paths.dir);
    fresh = true;
    writeJsonAtomic(paths.plan, plan);
  } catch (e) {
    releaseLock(paths.lock);
    throw e;
  }
  return launch({ root: req.root, session, plan, foreground: req.foreground, keep: req.keep, echo: req.echo, freshRunDir: fresh });
}

/** The lock may be gone (git clean, a tmp cleaner) while the engine the state names runs on: that is a live session. */
function refuseLiveEngine(statePath: string, session: string): void {
  const s = readState(statePath);
  if (s.ok && RUNNING.has(s.state.status) && isSameProcess(s.state.pid, s.state.pid_start)) {
    throw conflict(`session ${session} is running (engine pid ${s.state.pid}, though its lock is missing); it is never taken over`, {
      hint: `'sessions kill ${session}' stops it`,
    });
  }
}

/** Keep an old run as `{session}.{timestamp}`; a second start in the same second gets `-1`, `-2`, … */
function archive(dir: string, session: string): void {
  const at = new Date();
  for (let n = 0; ; n++) {
    const to = join(dirname(dir), archiveName(session, at, n));
    if (existsSync(to)) continue;
    try {
      renameSync(dir, to);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code !== "ENOTEMPTY" && code !== "EEXIST") || n > 100) throw e;
    }
  }
}

export const MAX_ITERATIONS = LIMITS.maxIterations;
