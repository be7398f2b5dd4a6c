// plan.json: the resolved plan start validated and run executes; its schema and its reading.
import * as v from "valibot";
import { errorMessage, invalid, notFound } from "../lib/errors.ts";
import { readText } from "../store/fsx.ts";
import type { RunPaths } from "../store/paths.ts";
import { EFFORTS, ProviderName, TerminationType } from "./schema.ts";
import { selfName } from "../lib/proc.ts";

/** plan.json: everything `start` resolved and validated; `run` executes it and reads nothing else. */
export const ProviderPlanSchema = v.object({
  name: ProviderName,
  model: v.nullable(v.string()),
  /** codex: the reasoning effort (`-c model_reasoning_effort=…`). */
  effort: v.optional(v.nullable(v.picklist(EFFORTS))),
  /** command provider: the words of its command line, unexpanded. */
  command: v.nullable(v.array(v.string())),
  /** The agent's executable resolved to an absolute path at start. */
  bin: v.nullable(v.string()),
});
export type ProviderPlan = v.InferOutput<typeof ProviderPlanSchema>;

export const TerminationPlanSchema = v.object({
  type: TerminationType,
  max: v.number(),
  min_iterations: v.number(),
  consensus: v.number(),
  command: v.nullable(v.array(v.string())),
  judge: v.nullable(ProviderPlanSchema),
});
export type TerminationPlan = v.InferOutput<typeof TerminationPlanSchema>;

const FromParallelPlanSchema = v.object({ block: v.string(), stage: v.string(), providers: v.nullable(v.array(v.string())), select: v.picklist(["latest", "all"]) });

export const InputsPlanSchema = v.object({
  from: v.nullable(v.string()),
  select: v.picklist(["latest", "all"]),
  from_initial: v.boolean(),
  /** Every source of parallel outputs, in order (a plan written before lists held one or null). */
  from_parallel: v.pipe(
    v.union([v.null(), FromParallelPlanSchema, v.array(FromParallelPlanSchema)]),
    v.transform((x) => (x === null ? [] : Array.isArray(x) ? x : [x])),
  ),
});
export type InputsPlan = v.InferOutput<typeof InputsPlanSchema>;

/** A spending limit; a null figure is no limit. */
export const BudgetPlanSchema = v.object({ usd: v.nullable(v.number()), tokens: v.nullable(v.number()) });
export type BudgetPlan = v.InferOutput<typeof BudgetPlanSchema>;

/** A hook's words (run without a shell), its timeout, and the stage whose iterations it follows (null: all). */
export const HookPlanSchema = v.object({ command: v.array(v.string()), timeout: v.number(), stage: v.nullable(v.string()), source: v.string() });
export type HookPlan = v.InferOutput<typeof HookPlanSchema>;
export const HooksPlanSchema = v.object({ on_iteration: v.array(HookPlanSchema), on_complete: v.array(HookPlanSchema), on_fail: v.array(HookPlanSchema) });
export type HooksPlan = v.InferOutput<typeof HooksPlanSchema>;
export const NO_HOOKS: HooksPlan = { on_iteration: [], on_complete: [], on_fail: [] };

export const StagePlanSchema = v.object({
  kind: v.literal("stage"),
  id: v.string(),
  stage: v.string(),
  source: v.string(),
  description: v.nullable(v.string()),
  prompt: v.string(),
  provider: ProviderPlanSchema,
  termination: TerminationPlanSchema,
  delay: v.number(),
  timeout: v.number(),
  stall_after: v.number(),
  output_path: v.nullable(v.string()),
  context: v.nullable(v.string()),
  inputs: InputsPlanSchema,
  on_error: v.picklist(["fail", "retry"]),
  retries: v.number(),
  backoff: v.number(),
  budget: v.optional(v.nullable(BudgetPlanSchema), null),
});
export type StagePlan = v.InferOutput<typeof StagePlanSchema>;

export const ParallelPlanSchema = v.object({
  kind: v.literal("parallel"),
  id: v.string(),
  description: v.nullable(v.string()),
  /** `inputs`: a provider's own inputs, by the id of each stage they replace the block's for. */
  providers: v.array(v.object({ id: v.string(), provider: ProviderPlanSchema, inputs: v.optional(v.record(v.string(), InputsPlanSchema)) })),
  stages: v.array(StagePlanSchema),
  isolation: v.picklist(["worktree", "none"]),
  fail_fast: v.boolean(),
  inputs: InputsPlanSchema,
  /** Spent by every provider of the block together. */
  budget: v.optional(v.nullable(BudgetPlanSchema), null),
});
export type ParallelPlan = v.InferOutput<typeof ParallelPlanSchema>;

export const NodePlanSchema = v.variant("kind", [StagePlanSchema, ParallelPlanSchema]);
export type NodePlan = v.InferOutput<typeof NodePlanSchema>;

export const PlanSchema = v.object({
  version: v.literal(1),
  session: v.string(),
  type: v.picklist(["loop", "pipeline"]),
  target: v.object({ name: v.string(), kind: v.picklist(["stage", "pipeline"]), source: v.string() }),
  root: v.string(),
  created_at: v.string(),
  context: v.nullable(v.string()),
  inputs: v.array(v.string()),
  commands: v.record(v.string(), v.string()),
  keep: v.boolean(),
  /** How many times the whole plan runs (pipeline `runs:`, `--runs`), each run in run-NN/. */
  runs: v.optional(v.number()),
  /** A desktop notification when the session ends (complete, failed or killed). */
  notify: v.optional(v.boolean(), false),
  /** The whole session's budget: the pipeline's (or the stage file's, for a loop), each figure overridden by --budget-*. */
  budget: v.optional(v.nullable(BudgetPlanSchema), null),
  hooks: v.optional(HooksPlanSchema, NO_HOOKS),
  nodes: v.array(NodePlanSchema),
});
export type Plan = v.InferOutput<typeof PlanSchema>;

/** The iteration cap of a node (a parallel block's is its stages' sum, per provider). */
export const nodeMax = (n: NodePlan) =>
  n.kind === "stage" ? n.termination.max : n.stages.reduce((s, st) => s + st.termination.max, 0);

/** Each provider (or parallel provider id) of the plan → the absolute executable start resolved for it. */
export function agentsOf(plan: Plan): Record<string, string> {
  const pairs = plan.nodes.flatMap((n) => (n.kind === "stage" ? [[n.provider.name, n.provider.bin] as const] : n.providers.map((p) => [p.id, p.provider.bin] as const)));
  return Object.fromEntries(pairs.filter((p): p is readonly [string, string] => !!p[1]));
}

export function readPlan(paths: RunPaths): Plan {
  const text = readText(paths.plan);
  if (text === null) throw notFound(`no plan.json in ${paths.dir}`, { hint: `start the session with '${selfName()} start'` });
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
