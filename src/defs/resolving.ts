// What resolving one target shares (the root, the flags, where problems go, each stage loaded once,
// the hooks found so far), for resolve.ts and the parts of a plan resolved in their own modules.
import { problem, type LoadedPipeline, type LoadedStage } from "./definition.ts";
import type { Diagnostic } from "./diagnostics.ts";
import type { HooksPlan, ProviderPlan } from "./plan.ts";

export interface PlanOptions {
  session: string;
  max?: number;
  provider?: ProviderPlan["name"];
  model?: string;
  command?: string;
  context?: string;
  inputs?: string[];
  delay?: number;
  timeout?: number;
  keep?: boolean;
  notify?: boolean;
  /** --budget-usd / --budget-tokens: the session's budget, each over the pipeline's own. */
  budgetUsd?: number;
  budgetTokens?: number;
  /** --on-complete / --on-fail: hook command lines. */
  onComplete?: string;
  onFail?: string;
  /** How many times the whole plan runs (--runs; beats a pipeline's `runs:`). */
  runs?: number;
  /** Resolve every executable the plan runs to an absolute path (start); lint does not need them. */
  resolveBins?: boolean;
}

export type Path = (string | number)[];
export type At = Partial<Diagnostic>;

/** What resolving one target shares: the root, the flags, where problems go, and each stage loaded once. */
export interface Ctx {
  root: string;
  opts: PlanOptions;
  out: Diagnostic[];
  stages: Map<string, LoadedStage | null>;
  pipeline: LoadedPipeline | null;
  hooks: HooksPlan;
  /** Stage files whose on_complete / on_fail are already in `hooks` (a stage used twice runs its hook once). */
  hookFiles: Set<string>;
}

export const err = (c: Ctx, file: string, message: string, at: At = {}) => problem(c.out, "error", file, message, at);
