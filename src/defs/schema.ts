// The definition formats (stage.yaml, pipeline files) as valibot schemas, legacy fields included, and their limits.
import * as v from "valibot";

/** Limits that keep a typo from becoming a runaway loop or a week-long sleep. */
export const LIMITS = {
  maxIterations: 1000,
  defaultMax: 25,
  maxDelay: 86_400,
  maxTimeout: 7 * 86_400,
  defaultTimeout: 3600,
  defaultDelay: 2,
  defaultStallAfter: 900,
  maxFileBytes: 1024 * 1024,
  maxRuns: 99,
} as const;

const Name = v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "use lower-case letters, digits, '-' and '_' (at most 64)"));
const Count = (max: number) => v.pipe(v.number("expected a number"), v.integer("expected a whole number"), v.minValue(0, "must not be negative"), v.maxValue(max, `must be at most ${max}`));
const Iterations = v.pipe(v.number("expected a number"), v.integer("expected a whole number"), v.minValue(1, "must be at least 1"), v.maxValue(LIMITS.maxIterations, `must be at most ${LIMITS.maxIterations}`));
const Seconds = (max: number) => v.pipe(v.number("expected a number of seconds"), v.minValue(0, "must not be negative"), v.maxValue(max, `must be at most ${max}`));
const PositiveSeconds = (max: number) => v.pipe(v.number("expected a number of seconds"), v.minValue(0.001, "must be more than 0"), v.maxValue(max, `must be at most ${max}`));

export const ProviderName = v.picklist(["claude", "codex", "command"], "expected claude, codex or command");
/** Spellings the bash tool accepted for providers. */
export const PROVIDER_ALIASES: Record<string, "claude" | "codex"> = {
  "claude-code": "claude",
  anthropic: "claude",
  openai: "codex",
};
const Provider = v.pipe(
  v.string(),
  v.transform((s) => PROVIDER_ALIASES[s] ?? s),
  ProviderName,
);

export const TerminationType = v.picklist(["fixed", "judgment", "queue"], "expected fixed, judgment or queue");
/** The bash tool's v2 `completion:` names. */
export const COMPLETION_ALIASES = { "fixed-n": "fixed", plateau: "judgment", "beads-empty": "queue" } as const;

export const JudgeSchema = v.strictObject({
  provider: v.optional(Provider),
  model: v.optional(v.string()),
  command: v.optional(v.string()),
});

export const TerminationSchema = v.strictObject({
  type: v.optional(TerminationType),
  max: v.optional(Iterations),
  /** Legacy: the count of a fixed stage. */
  iterations: v.optional(Iterations),
  min_iterations: v.optional(Iterations),
  consensus: v.optional(Iterations),
  judge: v.optional(JudgeSchema),
  command: v.optional(v.string()),
});
export type TerminationDef = v.InferOutput<typeof TerminationSchema>;

/** Codex reasoning efforts (`-c model_reasoning_effort=…`). */
export const EFFORTS = ["minimal", "low", "medium", "high", "xhigh"] as const;
export const Effort = v.picklist(EFFORTS, `expected ${EFFORTS.join(", ")}`);
export type Effort = (typeof EFFORTS)[number];

const OnError = v.picklist(["fail", "retry"], "expected fail or retry");

/** `budget: { usd: 5, tokens: 2000000 }`: the session ends (failed, kind budget) before passing either. */
export const BudgetSchema = v.strictObject({
  usd: v.optional(v.pipe(v.number("expected an amount in USD"), v.minValue(0, "must not be negative"))),
  tokens: v.optional(v.pipe(v.number("expected a number of tokens"), v.integer("expected a whole number"), v.minValue(0, "must not be negative"))),
});
export type BudgetDef = v.InferOutput<typeof BudgetSchema>;

/** A hook: a command line run without a shell (words split like `command:`), or one with its own timeout. */
const HookSchema = v.union([
  v.string(),
  v.strictObject({ command: v.string(), timeout: v.optional(PositiveSeconds(3600)) }),
], "expected a command line, or { command, timeout }");
export type HookDef = v.InferOutput<typeof HookSchema>;
/** on_iteration after each iteration; on_complete / on_fail when the session ends so. */
const hookFields = {
  on_iteration: v.optional(HookSchema),
  on_complete: v.optional(HookSchema),
  on_fail: v.optional(HookSchema),
};

/** Fields a stage and a pipeline node may both set (the node wins). */
const runFields = {
  provider: v.optional(Provider),
  model: v.optional(v.string()),
  effort: v.optional(Effort),
  command: v.optional(v.string()),
  context: v.optional(v.string()),
  delay: v.optional(Seconds(LIMITS.maxDelay)),
  timeout: v.optional(PositiveSeconds(LIMITS.maxTimeout)),
  stall_after: v.optional(PositiveSeconds(LIMITS.maxTimeout)),
  output_path: v.optional(v.string()),
  on_error: v.optional(OnError),
  retries: v.optional(Count(20)),
  backoff: v.optional(Seconds(LIMITS.maxDelay)),
  budget: v.optional(BudgetSchema),
};

export const StageSchema = v.strictObject({
  name: v.optional(Name),
  description: v.optional(v.string()),
  termination: v.optional(TerminationSchema),
  /** A prompt file other than prompt.md. */
  prompt: v.optional(v.string()),
  /** Legacy v2 spelling of termination.type. */
  completion: v.optional(v.picklist(["fixed-n", "plateau", "beads-empty", "fixed", "judgment", "queue"])),
  /** Legacy: queue stages always check before each iteration. */
  check_before: v.optional(v.boolean()),
  /** Legacy top-level spellings of termination.min_iterations / consensus. */
  min_iterations: v.optional(Iterations),
  consensus: v.optional(Iterations),
  /** Legacy: decisions now come from status.json; accepted and ignored. */
  output_parse: v.optional(v.string()),
  /** Commands handed to every iteration in context.json (a pipeline's own commands win). */
  commands: v.optional(v.record(v.string(), v.string())),
  ...runFields,
  ...hookFields,
});
export type StageDef = v.InferOutput<typeof StageSchema>;

/** One source of parallel outputs: `stage`, `block/stage`, or `{stage, block?, providers?, select?}`. */
const FromParallelEntry = v.union([
  v.string(),
  v.strictObject({
    stage: v.string(),
    block: v.optional(v.string()),
    providers: v.optional(v.array(v.string())),
    select: v.optional(v.picklist(["latest", "history", "all"])),
  }),
]);
const FromParallel = v.union([FromParallelEntry, v.array(FromParallelEntry)]);

export const InputsSchema = v.strictObject({
  from: v.optional(v.string()),
  select: v.optional(v.picklist(["latest", "all"], "expected latest or all")),
  from_initial: v.optional(v.boolean()),
  from_parallel: v.optional(FromParallel),
});
export type InputsDef = v.InferOutput<typeof InputsSchema>;

const NodeTermination = TerminationSchema;

export const StageNodeSchema = v.strictObject({
  id: v.optional(Name),
  /** Legacy spelling of id. */
  name: v.optional(Name),
  stage: v.optional(Name),
  /** Legacy spelling of stage. */
  loop: v.optional(Name),
  /** An inline prompt template, for a node without a stage of its own. */
  prompt: v.optional(v.string()),
  description: v.optional(v.string()),
  runs: v.optional(Iterations),
  termination: v.optional(NodeTermination),
  inputs: v.optional(InputsSchema),
  ...runFields,
});
export type StageNodeDef = v.InferOutput<typeof StageNodeSchema>;

export const ParallelProviderSchema = v.union([
  Provider,
  v.strictObject({
    id: v.optional(Name),
    name: v.optional(v.string()),
    provider: v.optional(Provider),
    model: v.optional(v.string()),
    effort: v.optional(Effort),
    command: v.optional(v.string()),
    /** This provider's own inputs, instead of the block's. */
    inputs: v.optional(InputsSchema),
  }),
]);

export const ParallelSchema = v.strictObject({
  providers: v.pipe(v.array(ParallelProviderSchema), v.minLength(1, "a parallel block needs at least one provider")),
  stages: v.pipe(v.array(StageNodeSchema), v.minLength(1, "a parallel block needs at least one stage")),
  isolation: v.optional(v.picklist(["worktree", "none"], "expected worktree or none")),
  fail_fast: v.optional(v.boolean()),
  /** Legacy spelling: fail_fast when "fail_fast". */
  failure_mode: v.optional(v.string()),
});

export const ParallelNodeSchema = v.strictObject({
  id: v.optional(Name),
  name: v.optional(Name),
  description: v.optional(v.string()),
  parallel: ParallelSchema,
  inputs: v.optional(InputsSchema),
  /** Spent by every provider of the block together. */
  budget: v.optional(BudgetSchema),
});
export type ParallelNodeDef = v.InferOutput<typeof ParallelNodeSchema>;

export const PipelineSchema = v.strictObject({
  /** Legacy: the bash tool's schema version; accepted and ignored. */
  version: v.optional(v.union([v.number(), v.string()])),
  name: v.optional(Name),
  description: v.optional(v.string()),
  commands: v.optional(v.record(v.string(), v.string())),
  inputs: v.optional(v.array(v.string())),
  /** How many times the whole pipeline runs, each run in its own run-NN folder. */
  runs: v.optional(v.pipe(v.number("expected a number"), v.integer("expected a whole number"), v.minValue(1, "must be at least 1"), v.maxValue(LIMITS.maxRuns, `must be at most ${LIMITS.maxRuns}`))),
  defaults: v.optional(v.strictObject({ provider: v.optional(Provider), model: v.optional(v.string()) })),
  nodes: v.optional(v.array(v.unknown())),
  /** Legacy spelling of nodes. */
  stages: v.optional(v.array(v.unknown())),
  budget: v.optional(BudgetSchema),
  ...hookFields,
});
export type PipelineDef = v.InferOutput<typeof PipelineSchema>;

/** Template variables a prompt may use; the legacy names map onto the modern ones. */
export const TEMPLATE_VARS = ["CTX", "STATUS", "PROGRESS", "OUTPUT", "ITERATION", "SESSION_NAME", "CONTEXT", "INPUTS"] as const;
export const LEGACY_VARS: Record<string, (typeof TEMPLATE_VARS)[number] | "INDEX"> = {
  SESSION: "SESSION_NAME",
  PROGRESS_FILE: "PROGRESS",
  RESULT: "STATUS",
  OUTPUT_PATH: "OUTPUT",
  INDEX: "INDEX",
};
