// The contract between the engine and the parts that run inside it (a parallel block, the judge,
// one iteration): what they may see and do, so none of them depends on the Engine class itself.
import type { Plan, ProviderPlan, StagePlan } from "../defs/plan.ts";
import type { Cursor } from "../store/events.ts";
import type { RunPaths } from "../store/paths.ts";
import type { ErrorKind, HistoryEntry, State } from "../store/state.ts";
import type { EngineLog } from "./log.ts";
import type { StageProgress } from "./replay.ts";

/** One stage being run: where its files go and who runs it (a parallel provider runs its own copy). */
export interface StageRun {
  /** Which run of the plan (1-based; a plan runs once unless it says `runs:`). */
  run: number;
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

export interface EngineError {
  message: string;
  kind: ErrorKind;
  stage: string;
  iteration: number | null;
}

export type StageEnd = { ok: true; reason: string; iterations: number } | { ok: false; error: EngineError; iterations: number };

export interface Host {
  readonly plan: Plan;
  readonly paths: RunPaths;
  readonly log: EngineLog;
  /** The snapshot saved to state.json; parts update their own fields and call save(). */
  readonly state: State;
  /** Every iteration so far (replayed from events.jsonl on resume), oldest first. */
  readonly history: HistoryEntry[];
  /** A kill signal was received: stop now. */
  readonly killed: boolean;
  /** Why the session is stopping, for the errors of whatever was cut short. */
  readonly stopReason: string;
  /** Killed, or asked to stop after the running iteration. */
  halted(): boolean;
  /** Aborts when the session is killed, or when `sr`'s block cancels it. */
  abortSignal(sr: StageRun): AbortSignal;
  /** `--context` given to a paused session's resume, which replaces the definition's. */
  readonly contextOverride: string | null;
  progress(key: string): StageProgress | undefined;
  markStageDone(key: string, iterations: number): void;
  event(type: string, cursor: Cursor | null, data?: Record<string, unknown>): void;
  /** An iteration ended: its entry goes to events.jsonl and the history, and into the session's spend. */
  record(cursor: Cursor, entry: HistoryEntry): void;
  /** Start the on_iteration hooks for this entry in the background (the session does not wait for them). */
  iterationHooks(entry: HistoryEntry): void;
  save(): void;
  sleep(sr: StageRun, seconds: number): Promise<void>;
  label(sr: StageRun): string;
  runStage(sr: StageRun): Promise<StageEnd>;
}

export const cursorOf = (sr: StageRun, iteration: number): Cursor => ({ node: sr.node, id: sr.stage.id, iteration, provider: sr.provider.id, ...runOf(sr.run) });

/** The run in a cursor or a history entry: only said after the first, so a plan that runs once records what it always did. */
export const runOf = (run: number): { run?: number } => (run > 1 ? { run } : {});
