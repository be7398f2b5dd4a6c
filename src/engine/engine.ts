// The engine: the session loop over the plan's nodes and each stage's loop of iterations, with
// pause, delays, events and state saves. One iteration, its inputs, parallel blocks and the judge
// live in their own modules and see the engine through the Host interface.
import { existsSync, writeFileSync } from "node:fs";
import type { Plan } from "../defs/plan.ts";
import { nodeMax } from "../defs/plan.ts";
import { runFields, stagesOf, takeOver } from "./starting-state.ts";
import { selfName, sleep } from "../lib/proc.ts";
import { readControl, type Control } from "../store/control.ts";
import { appendEvent, type Cursor } from "../store/events.ts";
import { ensureDir } from "../store/fsx.ts";
import type { RunPaths } from "../store/paths.ts";
import { endState, spendOf, writeState, type HistoryEntry, type SessionEnd, type State } from "../store/state.ts";
import { cursorOf, runOf, type EngineError, type Host, type StageEnd, type StageRun } from "./host.ts";
import { settleFinalOutput } from "./inputs.ts";
import { overBudget } from "./budget.ts";
import { judge } from "./judge.ts";
import type { EngineLog } from "./log.ts";
import { runParallel } from "./parallel.ts";
import { runHooks } from "./hooks.ts";
import { checkQueue } from "./queue.ts";
import { runIteration } from "./iteration.ts";
import { nodeKey, progressKey, type Replay, type StageProgress } from "./replay.ts";
import { afterIteration, type Decision } from "./termination.ts";
import { stageRun } from "./view.ts";

const now = () => new Date().toISOString();

export interface EngineOptions {
  plan: Plan;
  paths: RunPaths;
  log: EngineLog;
  resume: boolean;
  /** The tmux session the engine runs in, or null in the foreground. */
  tmux: string | null;
}

export class Engine implements Host {
  readonly plan: Plan;
  readonly paths: RunPaths;
  readonly log: EngineLog;
  readonly state: State;
  private readonly done: Replay;
  private readonly abort = new AbortController();
  /** Set by a first Ctrl-C in the foreground: finish the running iteration, then stop. */
  private stopAfterIteration = false;
  private killedBy: string | null = null;
  contextOverride: string | null = null;
  /** `resume --budget-*`, read from control.json: the session's figures from then on. */
  private budgetOverride: Control["budget"] = null;
  private holding: Promise<void> | null = null;
  /** on_iteration hooks still running: the session goes on without them, and ends after them. */
  private readonly hooksRunning = new Set<Promise<void>>();
  /** The run a new or resumed engine starts in: the first with a node not complete. */
  private readonly firstRun: number;

  constructor(opts: EngineOptions) {
    this.plan = opts.plan;
    this.paths = opts.paths;
    this.log = opts.log;
    ({ done: this.done, firstRun: this.firstRun, state: this.state } = takeOver(this.plan, this.paths, this.log, opts.resume, opts.tmux));
    this.budgetOverride = readControl(this.paths.dir)?.budget ?? null;
  }

  get history(): HistoryEntry[] {
    return this.done.history;
  }

  get killed(): boolean {
    return this.killedBy !== null;
  }

  get stopReason(): string {
    return `stopped by ${this.killedBy ?? "SIGINT"}`;
  }

  halted(): boolean {
    return this.killed || this.stopAfterIteration;
  }

  abortSignal(sr: StageRun): AbortSignal {
    return sr.cancel ? AbortSignal.any([this.abort.signal, sr.cancel]) : this.abort.signal;
  }

  progress(key: string): StageProgress | undefined {
    return this.done.stages.get(key);
  }

  /** A parallel provider's stage finished: a resume must not run it again. */
  markStageDone(key: string, iterations: number): void {
    const prior = this.done.stages.get(key);
    this.done.stages.set(key, { completed: iterations, decisions: prior?.decisions ?? [], done: true, judged: prior?.judged ?? 0 });
  }

  /** Stop now: end the agent's process group and mark the session killed. */
  kill(signal: string): void {
    if (this.killedBy) return;
    this.killedBy = signal;
    this.log.line(`received ${signal}: stopping the agent and ending the session`);
    this.abort.abort();
  }

  /** Let the running iteration finish, then stop (state killed, resumable). */
  stopSoon(signal: string): void {
    this.stopAfterIteration = true;
    this.log.line(`received ${signal}: the session stops after the running iteration (again to stop now)`);
  }

  save(): void {
    this.state.updated_at = now();
    writeState(this.paths.state, this.state);
  }

  event(type: string, cursor: Cursor | null, data: Record<string, unknown> = {}): void {
    appendEvent(this.paths.events, { type, session: this.plan.session, cursor, data });
  }

  iterationHooks(entry: HistoryEntry): void {
    const p: Promise<void> = runHooks(this, "on_iteration", entry).finally(() => this.hooksRunning.delete(p));
    this.hooksRunning.add(p);
  }

  record(cursor: Cursor, entry: HistoryEntry): void {
    this.event("iteration_complete", cursor, entry);
    this.history.push(entry);
    this.state.spend = spendOf(this.history);
  }

  /** Run every node not yet complete; returns the final state (complete, failed or killed). */
  async run(): Promise<State> {
    ensureDir(this.paths.dir);
    if (!existsSync(this.paths.progress)) {
      writeFileSync(this.paths.progress, `# Progress: ${this.plan.session}\n\nTarget: ${this.plan.target.name}\nStarted: ${now()}\n\n## Codebase Patterns\n\n`);
    }
    const resumed = this.state.attempts > 1;
    this.event(resumed ? "session_resume" : "session_start", null, { target: this.plan.target.name, type: this.plan.type, attempt: this.state.attempts, pid: process.pid });
    this.save();
    this.log.line(`${resumed ? "resuming" : "starting"} ${this.plan.type} ${this.plan.target.name} as session ${this.plan.session} (engine pid ${process.pid})`);

    let failure: EngineError | null = null;
    const runs = this.plan.runs ?? 1;
    for (let run = this.firstRun; run <= runs && !failure && !this.halted(); run++) {
      if (run > this.firstRun) {
        Object.assign(this.state, runFields(this.plan, run));
        this.state.stages = stagesOf(this.plan, this.done, run, null);
      }
      if (runs > 1) {
        this.event("run_start", null, { run, runs });
        this.log.line(`run ${run} of ${runs}`);
      }
      failure = await this.runNodes(run);
    }
    return await this.finish(failure);
  }

  /** One run of the plan's nodes: the first failure, or null (complete, or stopped). */
  private async runNodes(run: number): Promise<EngineError | null> {
    for (let i = 0; i < this.plan.nodes.length && !this.halted(); i++) {
      const node = this.plan.nodes[i]!;
      if (this.done.nodesDone.has(nodeKey(run, i))) {
        this.log.line(`node ${node.id} already complete: skipped`);
        continue;
      }
      this.state.current_stage = i;
      const st = this.state.stages[i]!;
      st.status = "running";
      st.started_at ??= now();
      this.event("node_start", { node: i, id: node.id, iteration: 0, provider: null, ...runOf(run) }, { kind: node.kind, stage: node.kind === "stage" ? node.stage : null, max: nodeMax(node) });
      this.save();
      const end = node.kind === "stage" ? await this.runStage(stageRun(this.plan, this.paths, run, i)) : await runParallel(this, run, i, node);
      if (this.killed || (!end.ok && end.error.kind === "signal")) return null;
      st.status = end.ok ? "complete" : "failed";
      st.completed_at = now();
      st.reason = end.ok ? end.reason : end.error.message;
      this.event("node_complete", { node: i, id: node.id, iteration: end.iterations, provider: null, ...runOf(run) }, { status: st.status, reason: st.reason });
      this.save();
      if (!end.ok) return end.error;
    }
    return null;
  }

  private async finish(failure: EngineError | null): Promise<State> {
    const name = this.plan.session;
    let end: SessionEnd;
    if (this.halted()) {
      end = { status: "killed", message: this.stopReason, kind: "signal" };
      this.event("session_killed", null, { signal: this.killedBy ?? "SIGINT" });
      this.log.line(`session ${name} killed; '${selfName()} resume ${name}' continues it`);
    } else if (failure) {
      end = { status: "failed", message: failure.message, kind: failure.kind };
      this.event("session_failed", null, { error: { message: failure.message, kind: failure.kind, stage: failure.stage, iteration: failure.iteration } });
      this.log.line(`session ${name} failed: ${failure.message}`);
    } else {
      const reason = this.state.stages.map((st) => st.reason).filter(Boolean).pop() ?? "all nodes complete";
      end = { status: "complete", reason };
      this.event("session_complete", null, { reason });
      this.log.line(`session ${name} complete: ${reason}`);
    }
    // Every agent has ended; the groups left are on_iteration hooks, still ended by kill and resume.
    const hookGroups = this.state.agent_pgids;
    endState(this.state, end);
    this.state.agent_pgids = hookGroups;
    if (failure && this.state.error) this.state.error = { ...this.state.error, stage: failure.stage, iteration: failure.iteration };
    this.save();
    // The state is final (a hook reads it so); the engine holds its lock until its hooks end, each within its timeout.
    await Promise.all([...this.hooksRunning, runHooks(this, end.status === "complete" ? "on_complete" : "on_fail")]);
    return this.state;
  }

  /** The engine itself failed (a bug, a full disk): the state says so if it can still be written (then true). */
  failWith(message: string): boolean {
    endState(this.state, { status: "failed", message, kind: "engine" });
    try {
      this.event("session_failed", null, { error: this.state.error });
      this.save();
      return true;
    } catch {
      return false;
    }
  }

  /** A stage's loop: iterations until its termination says so, a failure, or a stop request. */
  async runStage(sr: StageRun): Promise<StageEnd> {
    const { stage } = sr;
    const t = stage.termination;
    const prior = this.done.stages.get(progressKey(sr.run, sr.node, sr.provider.id, stage.id));
    const decisions: Decision[] = [...(prior?.decisions ?? [])];
    let n = prior?.completed ?? 0;
    ensureDir(sr.stageDir);
    if (prior?.done) return { ok: true, reason: "already complete", iterations: n };
    if (n > 0) this.log.line(`${this.label(sr)}: ${n} iteration(s) already complete, continuing at ${n + 1}`);
    if (n >= t.max) return this.endStage(sr, n, `reached max iterations (${t.max})`);
    // A crash between the last iteration and the end of its stage: the decisions already end it.
    if (n > 0) {
      const carried = afterIteration(t, n, decisions);
      if (carried.done && !carried.needsJudge) return this.endStage(sr, n, carried.reason);
      // The engine died while the judge weighed this consensus: ask it again, not for another iteration.
      if (carried.done && t.judge && prior?.judged !== n) {
        const j = await judge(this, sr, t.judge, n);
        if (j.status === "ok" && j.stop) return this.endStage(sr, n, carried.reason);
      }
    }
    const stopped = (): StageEnd => ({ ok: false, error: this.signalError(sr, n), iterations: n });
    let judgeFailures = 0;
    for (;;) {
      if (this.halted() || sr.cancel?.aborted) return stopped();
      await this.holdIfPaused();
      if (this.halted()) return stopped();
      const over = overBudget(this, this.budgetOverride, sr);
      if (over) return { ok: false, error: { message: over, kind: "budget", stage: stage.id, iteration: n }, iterations: n };
      if (t.type === "queue") {
        const q = await checkQueue(this, sr, n + 1);
        this.event("queue_check", cursorOf(sr, n), { items: q.items, ok: q.ok, error: q.error });
        if (!q.ok) return { ok: false, error: { message: `queue command failed: ${q.error}`, kind: "queue", stage: stage.id, iteration: n }, iterations: n };
        if (q.items === 0) return this.endStage(sr, n, "queue is empty");
      }
      const it = await runIteration(this, sr, n + 1);
      if (it.kind === "halt" || sr.cancel?.aborted) return stopped();
      if (it.kind === "failed") return { ok: false, error: it.error, iterations: n };
      n++;
      decisions.push(it.decision);
      if (it.decision === "error") {
        const message = `agent reported an error at iteration ${n}: ${it.reason ?? "no reason given"}`;
        return { ok: false, error: { message, kind: "agent_error", stage: stage.id, iteration: n }, iterations: n };
      }
      const verdict = afterIteration(t, n, decisions);
      const ask = verdict.done && verdict.needsJudge && t.judge && judgeFailures < 3;
      if (ask && n >= t.max) {
        // The cap ends it either way; the judge is not asked, so the reason must not claim consensus.
        verdict.reason = `reached max iterations (${t.max}); consensus not confirmed by the judge`;
      } else if (ask) {
        const j = await judge(this, sr, t.judge!, n);
        if (j.status === "failed" && ++judgeFailures >= 3) this.log.line(`${this.label(sr)}: the judge failed 3 times and is skipped from now on`);
        else if (j.status === "failed" || !j.stop) {
          if (j.status === "ok") this.log.line(`${this.label(sr)}: the judge disagrees (${j.reason}); continuing`);
          await this.sleep(sr, stage.delay);
          continue;
        }
      }
      if (verdict.done) return this.endStage(sr, n, verdict.reason);
      await this.sleep(sr, stage.delay);
    }
  }

  private endStage(sr: StageRun, n: number, reason: string): StageEnd {
    const final = settleFinalOutput(this.plan, sr);
    this.event("stage_complete", cursorOf(sr, n), { reason, iterations: n, output: final });
    this.log.line(`${this.label(sr)} complete: ${reason}`);
    return { ok: true, reason, iterations: n };
  }

  private signalError(sr: StageRun, n: number): EngineError {
    const cancelled = sr.cancel?.aborted && !this.halted();
    return { message: cancelled ? "cancelled: another provider of the block failed (fail_fast)" : this.stopReason, kind: "signal", stage: sr.stage.id, iteration: n };
  }

  label(sr: StageRun): string {
    return sr.provider.id ? `${sr.stage.id}[${sr.provider.id}]` : `stage ${sr.stage.id}`;
  }

  /** A delay or a wait that a kill (or a fail_fast sibling's failure) cuts short. */
  async sleep(sr: StageRun, seconds: number): Promise<void> {
    if (seconds <= 0 || this.halted() || sr.cancel?.aborted) return;
    const signal = this.abortSignal(sr);
    await new Promise<void>((res) => {
      const t = setTimeout(done, seconds * 1000);
      function done() {
        clearTimeout(t);
        signal.removeEventListener("abort", done);
        res();
      }
      signal.addEventListener("abort", done, { once: true });
    });
  }

  /** Between iterations: hold while control.json asks for a pause (parallel providers share one hold). */
  private async holdIfPaused(): Promise<void> {
    const c = readControl(this.paths.dir);
    if (c?.context) this.contextOverride = c.context;
    if (c?.budget) this.budgetOverride = c.budget;
    if (!c?.pause) return;
    this.holding ??= this.hold().finally(() => (this.holding = null));
    await this.holding;
  }

  private async hold(): Promise<void> {
    this.state.status = "paused";
    this.state.pause_requested = true;
    this.event("paused", null, {});
    this.save();
    this.log.line(`paused; '${selfName()} resume ${this.plan.session}' continues`);
    let c = readControl(this.paths.dir);
    while (c?.pause && !this.halted()) {
      await sleep(250);
      c = readControl(this.paths.dir);
    }
    if (c?.context) this.contextOverride = c.context;
    if (c?.budget) this.budgetOverride = c.budget;
    if (this.halted()) return;
    this.state.status = "running";
    this.state.pause_requested = false;
    this.event("unpaused", null, { context: c?.context ?? null });
    this.save();
    this.log.line("resumed");
  }
}
