import { copyFileSync, existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import type { ParallelPlan, Plan, ProviderPlan, StagePlan } from "../defs/plan.ts";
import { nodeMax } from "../defs/plan.ts";
import { renderTemplate, type TemplateValues } from "../defs/template.ts";
import { pidStart, sleep } from "../lib/proc.ts";
import { readControl } from "../store/control.ts";
import { appendEvent, readEvents, type Cursor } from "../store/events.ts";
import { ensureDir, writeJsonAtomic } from "../store/fsx.ts";
import { iterationDir, parallelDirName, stageDirName, type RunPaths } from "../store/paths.ts";
import { readState, writeState, type ErrorKind, type HistoryEntry, type State } from "../store/state.ts";
import { buildContext, iterationOutputs, previousOutputs, stageOutputs, type FromParallel, type Inputs } from "./context.ts";
import type { EngineLog } from "./log.ts";
import { judge } from "./judge.ts";
import { notify } from "./notify.ts";
import { runParallel } from "./parallel.ts";
import { runQueueCommand } from "./queue.ts";
import { agentEnv, runAgent } from "./providers/index.ts";
import { progressKey, replay, type Replay } from "./replay.ts";
import { readAgentStatus, strings } from "./status.ts";
import { afterIteration, type Decision } from "./termination.ts";

/** One stage being run: where its files go and who runs it (a parallel provider runs its own copy). */
export interface StageRun {
  node: number;
  stage: StagePlan;
  provider: { id: string | null; plan: ProviderPlan };
  stageDir: string;
  progress: string;
  cwd: string;
  /** Index of the stage within a parallel block (its NN), or the node index. */
  index: number;
  /** Ends this stage early without ending the session (a fail_fast sibling failed). */
  cancel?: AbortSignal;
}

export type StageEnd = { ok: true; reason: string; iterations: number } | { ok: false; error: EngineError; iterations: number };

export interface EngineError {
  message: string;
  kind: ErrorKind;
  stage: string;
  iteration: number | null;
}

const now = () => new Date().toISOString();

export interface EngineOptions {
  plan: Plan;
  paths: RunPaths;
  log: EngineLog;
  resume: boolean;
}

/**
 * The inside view: runs a validated plan, one fresh agent process per iteration, writing
 * events (the source of truth) before the state snapshot. Knows nothing of tmux.
 */
export class Engine {
  readonly plan: Plan;
  readonly paths: RunPaths;
  readonly log: EngineLog;
  state!: State;
  private done!: Replay;
  private readonly abort = new AbortController();
  /** Set by a first Ctrl-C in the foreground: finish the running iteration, then stop. */
  private stopAfterIteration = false;
  private killedBy: string | null = null;
  private contextOverride: string | null = null;
  private holding: Promise<void> | null = null;

  constructor(opts: EngineOptions) {
    this.plan = opts.plan;
    this.paths = opts.paths;
    this.log = opts.log;
    this.init(opts.resume);
  }

  get killed(): boolean {
    return this.killedBy !== null;
  }

  /** Why the session is stopping, for the errors of whatever was cut short. */
  get stopReason(): string {
    return `stopped by ${this.killedBy ?? "SIGINT"}`;
  }

  /** A parallel provider's stage finished: a resume must not run it again. */
  markStageDone(key: string, iterations: number): void {
    const prior = this.done.stages.get(key);
    this.done.stages.set(key, { completed: iterations, decisions: prior?.decisions ?? [], done: true });
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

  private init(resume: boolean): void {
    const old = resume ? readState(this.paths.state) : null;
    const events = resume ? readEvents(this.paths.events) : { events: [], bad: [] };
    if (events.bad.length) {
      for (const b of events.bad) this.log.line(`events.jsonl line ${b.line} ignored (${b.torn ? "torn by a crash" : "not an event"})`);
    }
    this.done = replay(events.events);
    const base: State = old?.ok
      ? old.state
      : {
          session: this.plan.session,
          type: this.plan.type,
          target: this.plan.target.name,
          status: "running",
          pid: null,
          pid_start: null,
          started_at: now(),
          updated_at: now(),
          completed_at: null,
          current_stage: 0,
          current_stage_id: this.plan.nodes[0]?.id ?? null,
          iteration: 0,
          iteration_completed: 0,
          iteration_started: null,
          max: this.plan.nodes[0] ? nodeMax(this.plan.nodes[0]) : 0,
          agent_pgid: null,
          agent_pgids: [],
          agent_output: null,
          stall_after: null,
          pause_requested: false,
          waiting_until: null,
          waiting_reason: null,
          attempts: 0,
          tmux: null,
          agents: {},
          totals: { iterations: 0, cost_usd: 0, failures: 0 },
          stages: [],
          history: [],
          completion_reason: null,
          error: null,
        };
    this.state = {
      ...base,
      status: "running",
      pid: process.pid,
      pid_start: pidStart(process.pid),
      host: hostname(),
      completed_at: null,
      error: null,
      completion_reason: null,
      waiting_until: null,
      waiting_reason: null,
      agent_pgid: null,
      attempts: (base.attempts ?? 0) + 1,
      tmux: process.env.SESSIONS_TMUX_SESSION ?? null,
      history: this.done.history,
      totals: {
        iterations: this.done.history.filter((h) => h.decision !== "failed").length,
        cost_usd: this.done.costUsd,
        failures: this.done.failures,
      },
      stages: this.plan.nodes.map((n, i) => ({
        index: i,
        id: n.id,
        stage: n.kind === "stage" ? n.stage : "parallel",
        kind: n.kind,
        status: this.done.nodesDone.has(i) ? "complete" : "pending",
        iterations: n.kind === "stage" ? (this.done.stages.get(progressKey(i, null, n.id))?.completed ?? 0) : 0,
        max: nodeMax(n),
        started_at: base.stages[i]?.started_at ?? null,
        completed_at: base.stages[i]?.completed_at ?? null,
        reason: base.stages[i]?.reason ?? null,
      })),
      agents: Object.fromEntries(
        this.plan.nodes.flatMap((n) =>
          n.kind === "stage"
            ? [[n.provider.name, n.provider.bin ?? ""]]
            : n.providers.map((p) => [p.id, p.provider.bin ?? ""]),
        ).filter(([, b]) => b),
      ),
    };
  }

  save(): void {
    this.state.updated_at = now();
    writeState(this.paths.state, this.state);
  }

  event(type: string, cursor: Cursor | null, data: Record<string, unknown> = {}): void {
    appendEvent(this.paths.events, { type, session: this.plan.session, cursor, data });
  }

  /** Run every node not yet complete; returns the final state (complete, failed or killed). */
  async run(): Promise<State> {
    ensureDir(this.paths.dir);
    if (!existsSync(this.paths.progress)) {
      writeFileSync(this.paths.progress, `# Progress: ${this.plan.session}\n\nTarget: ${this.plan.target.name}\nStarted: ${now()}\n\n## Codebase Patterns\n\n`);
    }
    const resumed = this.state.attempts > 1;
    this.event(resumed ? "session_resume" : "session_start", null, {
      target: this.plan.target.name,
      type: this.plan.type,
      attempt: this.state.attempts,
      pid: process.pid,
    });
    this.save();
    this.log.line(`${resumed ? "resuming" : "starting"} ${this.plan.type} ${this.plan.target.name} as session ${this.plan.session} (engine pid ${process.pid})`);

    let failure: EngineError | null = null;
    for (let i = 0; i < this.plan.nodes.length && !failure && !this.halted(); i++) {
      if (this.done.nodesDone.has(i)) {
        this.log.line(`node ${this.plan.nodes[i]!.id} already complete: skipped`);
        continue;
      }
      const node = this.plan.nodes[i]!;
      this.state.current_stage = i;
      this.state.current_stage_id = node.id;
      this.state.max = nodeMax(node);
      const st = this.state.stages[i]!;
      st.status = "running";
      st.started_at ??= now();
      this.event("node_start", { node: i, id: node.id, iteration: 0, provider: null }, { kind: node.kind, stage: node.kind === "stage" ? node.stage : null, max: nodeMax(node) });
      this.save();
      const end = node.kind === "stage" ? await this.runStage(this.stageRun(i, node)) : await runParallel(this, i, node);
      if (this.killed || (!end.ok && end.error.kind === "signal")) break;
      st.status = end.ok ? "complete" : "failed";
      st.completed_at = now();
      st.reason = end.ok ? end.reason : end.error.message;
      this.event("node_complete", { node: i, id: node.id, iteration: end.iterations, provider: null }, { status: st.status, reason: st.reason });
      if (!end.ok) failure = end.error;
      this.save();
    }
    return this.finish(failure);
  }

  private halted(): boolean {
    return this.killed || this.stopAfterIteration;
  }

  private finish(failure: EngineError | null): State {
    const s = this.state;
    s.agent_pgid = null;
    s.agent_pgids = [];
    s.waiting_until = null;
    s.completed_at = now();
    if (this.killed || this.stopAfterIteration) {
      s.status = "killed";
      s.error = { message: `stopped by ${this.killedBy ?? "SIGINT"}`, kind: "signal", at: now(), stage: s.current_stage_id, iteration: s.iteration };
      for (const st of s.stages) if (st.status === "running") st.status = "killed";
      this.event("session_killed", null, { signal: this.killedBy ?? "SIGINT" });
      this.log.line(`session ${this.plan.session} killed; 'sessions resume ${this.plan.session}' continues it`);
    } else if (failure) {
      s.status = "failed";
      s.error = { message: failure.message, kind: failure.kind, at: now(), stage: failure.stage, iteration: failure.iteration };
      this.event("session_failed", null, { error: s.error });
      this.log.line(`session ${this.plan.session} failed: ${failure.message}`);
    } else {
      s.status = "complete";
      s.completion_reason = s.stages.map((st) => st.reason).filter(Boolean).pop() ?? "all nodes complete";
      this.event("session_complete", null, { reason: s.completion_reason });
      this.log.line(`session ${this.plan.session} complete: ${s.completion_reason}`);
    }
    this.save();
    return s;
  }

  /** The desktop notification of --notify (or SESSIONS_NOTIFY=1), once the state is final. */
  async announce(): Promise<void> {
    if (!this.plan.notify && process.env.SESSIONS_NOTIFY !== "1") return;
    const s = this.state;
    const why = s.status === "complete" ? (s.completion_reason ?? "") : (s.error?.message ?? "");
    await notify(`sessions: ${s.session} ${s.status}`, `${this.plan.target.name}, ${s.iteration_completed} iteration(s)${why ? `: ${why}` : ""}`.slice(0, 300));
  }

  private stageRun(i: number, node: StagePlan): StageRun {
    return {
      node: i,
      stage: node,
      provider: { id: null, plan: node.provider },
      stageDir: join(this.paths.dir, stageDirName(i, node.id)),
      progress: this.paths.progress,
      cwd: this.plan.root,
      index: i,
    };
  }

  private finalOutput(sr: StageRun): string {
    const p = sr.stage.output_path;
    if (!p) return join(sr.stageDir, "output.md");
    const rendered = p.replaceAll("${SESSION_NAME}", this.plan.session).replaceAll("${SESSION}", this.plan.session);
    return isAbsolute(rendered) ? rendered : resolve(sr.cwd, rendered);
  }

  /** A stage's loop: iterations until its termination says so, a failure, or a stop request. */
  async runStage(sr: StageRun): Promise<StageEnd> {
    const { stage } = sr;
    const t = stage.termination;
    const key = progressKey(sr.node, sr.provider.id, stage.id);
    const prior = this.done.stages.get(key);
    const decisions: Decision[] = [...(prior?.decisions ?? [])];
    let n = prior?.completed ?? 0;
    ensureDir(sr.stageDir);
    const cursor = (iteration: number): Cursor => ({ node: sr.node, id: stage.id, iteration, provider: sr.provider.id });
    if (prior?.done) return { ok: true, reason: "already complete", iterations: n };
    if (n > 0) this.log.line(`${this.label(sr)}: ${n} iteration(s) already complete, continuing at ${n + 1}`);
    if (n >= t.max) return this.endStage(sr, cursor(n), `reached max iterations (${t.max})`, n);
    // A crash between the last iteration and the end of its stage: the decisions already end it.
    if (n > 0) {
      const carried = afterIteration(t, n, decisions);
      if (carried.done && !carried.needsJudge) return this.endStage(sr, cursor(n), carried.reason, n);
    }
    let judgeFailures = 0;
    for (;;) {
      if (this.halted() || sr.cancel?.aborted) return { ok: false, error: this.signalError(sr, n), iterations: n };
      await this.holdIfPaused();
      if (this.halted()) return { ok: false, error: this.signalError(sr, n), iterations: n };
      if (t.type === "queue") {
        const q = await runQueueCommand(t.command ?? [], this.vars(sr, n + 1, "", "", "", ""), sr.cwd, this.abort.signal);
        this.event("queue_check", cursor(n), { items: q.items, ok: q.ok, error: q.error });
        if (!q.ok) {
          return { ok: false, error: { message: `queue command failed: ${q.error}`, kind: "queue", stage: stage.id, iteration: n }, iterations: n };
        }
        if (q.items === 0) return this.endStage(sr, cursor(n), "queue is empty", n);
      }
      const it = await this.runIteration(sr, n + 1);
      if (it.kind === "halt" || sr.cancel?.aborted) return { ok: false, error: this.signalError(sr, n), iterations: n };
      if (it.kind === "failed") return { ok: false, error: it.error, iterations: n };
      n++;
      decisions.push(it.decision);
      if (it.decision === "error") {
        return {
          ok: false,
          error: { message: `agent reported an error at iteration ${n}: ${it.reason ?? "no reason given"}`, kind: "agent_error", stage: stage.id, iteration: n },
          iterations: n,
        };
      }
      const verdict = afterIteration(t, n, decisions);
      if (verdict.done && verdict.needsJudge && t.judge && judgeFailures < 3 && n >= t.max) {
        // The cap ends it either way; the judge is not asked, so the reason must not claim consensus.
        verdict.reason = `reached max iterations (${t.max}); consensus not confirmed by the judge`;
      } else if (verdict.done && verdict.needsJudge && t.judge && judgeFailures < 3) {
        const j = await judge(this, sr, t.judge, n, cursor(n));
        if (j.status === "failed") {
          judgeFailures++;
          if (judgeFailures >= 3) this.log.line(`${this.label(sr)}: the judge failed 3 times and is skipped from now on`);
          else {
            await this.sleep(sr, stage.delay);
            continue;
          }
        } else if (!j.stop) {
          this.log.line(`${this.label(sr)}: the judge disagrees (${j.reason}); continuing`);
          await this.sleep(sr, stage.delay);
          continue;
        }
      }
      if (verdict.done) return this.endStage(sr, cursor(n), verdict.reason, n);
      await this.sleep(sr, stage.delay);
    }
  }

  private endStage(sr: StageRun, cursor: Cursor, reason: string, n: number): StageEnd {
    const final = this.finalOutput(sr);
    const outputs = iterationOutputs(sr.stageDir);
    // The agent did not write the stage document: its last iteration's output stands for it.
    if (!existsSync(final) && outputs.length) {
      mkdirSync(join(final, ".."), { recursive: true });
      copyFileSync(outputs[outputs.length - 1]!, final);
    }
    this.event("stage_complete", cursor, { reason, iterations: n, output: final });
    this.log.line(`${this.label(sr)} complete: ${reason}`);
    return { ok: true, reason, iterations: n };
  }

  private signalError(sr: StageRun, n: number): EngineError {
    if (sr.cancel?.aborted && !this.halted()) return { message: "cancelled: another provider of the block failed (fail_fast)", kind: "signal", stage: sr.stage.id, iteration: n };
    return { message: this.stopReason, kind: "signal", stage: sr.stage.id, iteration: n };
  }

  label(sr: StageRun): string {
    return sr.provider.id ? `${sr.stage.id}[${sr.provider.id}]` : `stage ${sr.stage.id}`;
  }

  /** A delay or a wait that a kill (or a fail_fast sibling's failure) cuts short. */
  async sleep(sr: StageRun, seconds: number): Promise<void> {
    if (seconds <= 0 || this.halted() || sr.cancel?.aborted) return;
    const signal = sr.cancel ? AbortSignal.any([this.abort.signal, sr.cancel]) : this.abort.signal;
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
    if (!c?.pause) return;
    this.holding ??= this.hold().finally(() => (this.holding = null));
    await this.holding;
  }

  private async hold(): Promise<void> {
    this.state.status = "paused";
    this.state.pause_requested = true;
    this.event("paused", null, {});
    this.save();
    this.log.line(`paused; 'sessions resume ${this.plan.session}' continues`);
    let c = readControl(this.paths.dir);
    while (c?.pause && !this.halted()) {
      await sleep(250);
      c = readControl(this.paths.dir);
    }
    if (c?.context) this.contextOverride = c.context;
    if (this.halted()) return;
    this.state.status = "running";
    this.state.pause_requested = false;
    this.event("unpaused", null, { context: c?.context ?? null });
    this.save();
    this.log.line("resumed");
  }

  vars(sr: StageRun, iteration: number, ctx: string, status: string, output: string, inputs: string): TemplateValues {
    return {
      CTX: ctx,
      STATUS: status,
      PROGRESS: sr.progress,
      OUTPUT: output,
      ITERATION: String(iteration),
      INDEX: String(iteration - 1),
      SESSION_NAME: this.plan.session,
      CONTEXT: this.contextOverride ?? sr.stage.context ?? this.plan.context ?? "",
      INPUTS: inputs,
    };
  }

  private inputsFor(sr: StageRun, iteration: number): Inputs {
    const inp = sr.stage.inputs;
    const from_stage: Record<string, string[]> = {};
    const parent = sr.provider.id ? join(sr.stageDir, "..") : this.paths.dir;
    if (inp.from) {
      // In a parallel block `from` names an earlier stage of the block, else a top-level node.
      const inBlock = sr.provider.id ? this.parallelStageIndex(sr.node, inp.from) : -1;
      const idx = inBlock >= 0 ? inBlock : this.plan.nodes.findIndex((n) => n.id === inp.from);
      const from = inBlock >= 0 ? (this.plan.nodes[sr.node] as ParallelPlan).stages[idx] : this.plan.nodes[idx];
      if (from && from.kind === "stage") {
        const dir = join(inBlock >= 0 ? parent : this.paths.dir, stageDirName(idx, from.id));
        const fr: StageRun = { ...sr, stage: from, stageDir: dir, cwd: inBlock >= 0 ? sr.cwd : this.plan.root };
        from_stage[from.id] = stageOutputs(dir, this.finalOutput(fr), inp.select);
      }
    }
    const from_parallel: FromParallel[] = [];
    if (inp.from_parallel) from_parallel.push(this.parallelInputs(inp.from_parallel));
    const first = this.plan.nodes.findIndex((n) => n.kind === "stage") === sr.node && !sr.provider.id;
    return {
      from_stage,
      from_previous_iterations: previousOutputs(sr.stageDir, iteration),
      from_initial: inp.from_initial || first || this.plan.type === "loop" ? this.plan.inputs : [],
      from_parallel,
    };
  }

  private parallelStageIndex(node: number, id: string): number {
    return (this.plan.nodes[node] as ParallelPlan).stages.findIndex((s) => s.id === id);
  }

  private parallelInputs(fp: NonNullable<StagePlan["inputs"]["from_parallel"]>): FromParallel {
    const idx = this.plan.nodes.findIndex((n) => n.id === fp.block);
    const block = this.plan.nodes[idx] as ParallelPlan;
    const dir = join(this.paths.dir, parallelDirName(idx, block.id));
    const sIdx = block.stages.findIndex((s) => s.id === fp.stage);
    const stage = block.stages[sIdx]!;
    const providers: FromParallel["providers"] = {};
    for (const p of block.providers) {
      if (fp.providers && !fp.providers.includes(p.id)) continue;
      const pdir = join(dir, "providers", p.id);
      const sdir = join(pdir, stageDirName(sIdx, stage.id));
      const final = join(sdir, "output.md");
      const outs = stageOutputs(sdir, final, fp.select);
      const st = this.done.stages.get(progressKey(idx, p.id, stage.id));
      providers[p.id] = {
        output: outs[outs.length - 1] ?? null,
        outputs: outs,
        status: st?.done ? "complete" : "incomplete",
        iterations: st?.completed ?? 0,
        worktree: existsSync(join(pdir, "worktree")) ? join(pdir, "worktree") : null,
      };
    }
    return { block: block.id, stage: stage.id, manifest: join(dir, "manifest.json"), providers };
  }

  /** One iteration; retried in place for rate limits and `on_error: retry`. */
  private async runIteration(
    sr: StageRun,
    n: number,
  ): Promise<{ kind: "ok"; decision: Decision; reason: string | null } | { kind: "failed"; error: EngineError } | { kind: "halt" }> {
    let retriesLeft = sr.stage.retries;
    let limitWaits = 0;
    for (;;) {
      const r = await this.attempt(sr, n);
      if (r.kind !== "failed") return r;
      if (this.halted()) return { kind: "halt" };
      const f = r.failure;
      if (f.kind === "limit") {
        // A usage limit is not the agent's fault: wait for the reset and retry without counting it.
        const until = limitWaitUntil(f.resetAt, limitWaits++);
        await this.waitUntil(sr, until, f.message);
        if (this.halted()) return { kind: "halt" };
        continue;
      }
      if (sr.stage.on_error === "retry" && retriesLeft > 0 && f.kind !== "auth") {
        retriesLeft--;
        const wait = sr.stage.backoff * 2 ** (sr.stage.retries - retriesLeft - 1);
        this.log.line(`${this.label(sr)} iteration ${n} failed (${f.message}); retrying in ${wait}s (${retriesLeft} retries left)`);
        await this.waitUntil(sr, Date.now() + wait * 1000, `retry after: ${f.message}`);
        if (this.halted()) return { kind: "halt" };
        continue;
      }
      return { kind: "failed", error: { message: `iteration ${n} of ${sr.stage.id}${sr.provider.id ? ` [${sr.provider.id}]` : ""} failed: ${f.message}`, kind: f.kind, stage: sr.stage.id, iteration: n } };
    }
  }

  private async waitUntil(sr: StageRun, until: number, why: string): Promise<void> {
    this.state.waiting_until = new Date(until).toISOString();
    this.state.waiting_reason = why;
    this.event("waiting", { node: sr.node, id: sr.stage.id, iteration: this.state.iteration, provider: sr.provider.id }, { until: this.state.waiting_until, reason: why });
    this.save();
    this.log.line(`${this.label(sr)}: waiting until ${this.state.waiting_until} (${why})`);
    await this.sleep(sr, Math.max(0, (until - Date.now()) / 1000));
    this.state.waiting_until = null;
    this.state.waiting_reason = null;
  }

  private async attempt(
    sr: StageRun,
    n: number,
  ): Promise<{ kind: "ok"; decision: Decision; reason: string | null } | { kind: "failed"; failure: { kind: ErrorKind; message: string; resetAt: string | null } } | { kind: "halt" }> {
    const { stage } = sr;
    const dir = iterationDir(sr.stageDir, n);
    if (existsSync(dir)) keepAside(dir);
    ensureDir(dir);
    const files = {
      ctx: join(dir, "context.json"),
      status: join(dir, "status.json"),
      output: join(dir, "output.md"),
    };
    const final = this.finalOutput(sr);
    const inputs = this.inputsFor(sr, n);
    const inputList = [
      ...Object.values(inputs.from_stage).flat(),
      ...inputs.from_parallel.flatMap((fp) => Object.values(fp.providers).flatMap((p) => (p.output ? [p.output] : []))),
      ...inputs.from_initial,
    ];
    const vars = this.vars(sr, n, files.ctx, files.status, final, inputList.join("\n"));
    writeJsonAtomic(
      files.ctx,
      buildContext({
        plan: this.plan,
        stage,
        index: sr.index,
        iteration: n,
        provider: sr.provider.id,
        paths: { session_dir: this.paths.dir, stage_dir: sr.stageDir, progress: sr.progress, status: files.status, output: final, iteration_output: files.output },
        inputs,
        context: vars.CONTEXT || null,
      }),
    );
    const prompt = renderTemplate(stage.prompt, vars);
    const startedAt = now();
    const cursor: Cursor = { node: sr.node, id: stage.id, iteration: n, provider: sr.provider.id };
    const prov = sr.provider.plan;
    this.event("iteration_start", cursor, { stage: stage.stage, provider: prov.name, model: prov.model });
    this.state.iteration = n;
    this.state.iteration_started = startedAt;
    this.state.agent_output = files.output;
    this.state.stall_after = stage.stall_after;
    if (!sr.provider.id) this.state.stages[sr.node]!.iterations = n - 1;
    this.save();
    this.log.resetCaps();
    this.log.line(`${this.label(sr)} iteration ${n}/${stage.termination.max} (${prov.name}${prov.model ? ` ${prov.model}` : ""})`);

    let pgidOf = 0;
    const outcome = await runAgent(prov, vars, {
      cwd: sr.cwd,
      env: agentEnv({
        PIPELINE_SESSION: this.plan.session,
        PIPELINE_STAGE: stage.id,
        PIPELINE_ITERATION: String(n),
        PIPELINE_CTX: files.ctx,
        PIPELINE_STATUS: files.status,
        PIPELINE_PROGRESS: sr.progress,
        PIPELINE_OUTPUT: final,
        PIPELINE_ROOT: this.plan.root,
        ...(sr.provider.id ? { PIPELINE_PROVIDER: sr.provider.id } : {}),
      }),
      prompt,
      timeoutMs: stage.timeout * 1000,
      outputPath: files.output,
      rawPath: prov.name === "command" ? null : join(dir, "agent.jsonl"),
      statusPath: files.status,
      echo: (t) => this.log.agent(t),
      echoSaturated: () => this.log.saturated,
      onStart: (pgid) => {
        pgidOf = pgid;
        this.state.agent_pgid = pgid;
        this.state.agent_pgids = [...this.state.agent_pgids, pgid];
        this.save();
      },
      abort: sr.cancel ? AbortSignal.any([this.abort.signal, sr.cancel]) : this.abort.signal,
    });
    this.state.agent_pgids = this.state.agent_pgids.filter((g) => g !== pgidOf);
    this.state.agent_pgid = this.state.agent_pgids[this.state.agent_pgids.length - 1] ?? null;
    if (this.killed) return { kind: "halt" };

    const status = readAgentStatus(files.status);
    let failure = outcome.failure;
    // An agent that wrote a valid status and then exited non-zero (or was ended) still did its work.
    if (failure && status.ok && (failure.kind === "exit" || failure.kind === "timeout") && !outcome.report?.isError) failure = null;
    if (!failure && !status.ok) failure = { kind: status.kind, message: status.why, resetAt: null };
    const entry: HistoryEntry = {
      node: sr.node,
      stage: stage.id,
      provider: sr.provider.id,
      iteration: n,
      decision: failure ? "failed" : status.ok ? status.status.decision : "failed",
      reason: failure ? failure.message : status.ok ? (status.status.reason ?? null) : null,
      summary: status.ok ? (status.status.summary ?? null) : null,
      started_at: startedAt,
      ended_at: now(),
      duration_ms: Math.round(outcome.spawn.durationMs),
      exit_code: outcome.spawn.exitCode,
      error_kind: failure?.kind ?? null,
      cost_usd: outcome.report?.costUsd ?? null,
      files_touched: status.ok ? strings(status.status.work?.files_touched) : [],
      items_completed: status.ok ? strings(status.status.work?.items_completed) : [],
    };
    this.event("iteration_complete", cursor, entry);
    this.state.history.push(entry);
    this.state.totals.cost_usd += entry.cost_usd ?? 0;
    if (failure) {
      this.state.totals.failures++;
      this.save();
      this.log.line(`${this.label(sr)} iteration ${n} failed: ${failure.message}`);
      return { kind: "failed", failure };
    }
    this.state.totals.iterations++;
    this.state.iteration_completed = n;
    if (!sr.provider.id) this.state.stages[sr.node]!.iterations = n;
    this.save();
    this.log.line(`${this.label(sr)} iteration ${n}: ${entry.decision}${entry.summary ? ` — ${entry.summary}` : ""}`);
    return { kind: "ok", decision: entry.decision, reason: entry.reason };
  }

}

/**
 * When to retry after a usage or rate limit: a minute after the reset time the agent gave, else
 * with exponential backoff from one minute up to half an hour.
 */
export function limitWaitUntil(resetAt: string | null, waits: number, now = Date.now()): number {
  const reset = resetAt ? Date.parse(resetAt) : NaN;
  if (Number.isFinite(reset)) return Math.max(now, reset + 60_000);
  return now + Math.min(60_000 * 2 ** waits, 30 * 60_000);
}

/** A crashed attempt's files are kept beside the new attempt, never overwritten. */
function keepAside(dir: string): void {
  for (let k = 1; ; k++) {
    const target = `${dir}.attempt-${k}`;
    if (!existsSync(target)) {
      renameSync(dir, target);
      return;
    }
  }
}
