// Resolving a target and the command line's flags into the plan `run` executes: each node's
// stage, provider, termination, timings and inputs, with every problem (file, line, field) in `out`.
import { existsSync, readdirSync, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { splitWords } from "../lib/shellwords.ts";
import { checkTermination, DEFAULT_QUEUE, HOOK_KINDS, type HookKind, lintPrompt, loadPipelineSource, loadStageSource, problem, type LoadedPipeline, type LoadedStage, type RawNode } from "./definition.ts";
import type { Diagnostic } from "./diagnostics.ts";
import { resolveAgent, resolveExecutable, SELF_WORD } from "./executables.ts";
import { missingDep } from "../lib/errors.ts";
import { findStage, sourceLabel, type Target } from "./find.ts";
import type { ParallelNode, StageNode } from "./legacy.ts";
import { fieldOf, lineOf, type YamlFile } from "./load.ts";
import type { BudgetPlan, HooksPlan, InputsPlan, NodePlan, ParallelPlan, Plan, ProviderPlan, StagePlan } from "./plan.ts";
import { LIMITS, type BudgetDef, type HookDef } from "./schema.ts";

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
  /** Resolve every executable the plan runs to an absolute path (start); lint does not need them. */
  resolveBins?: boolean;
}

type Path = (string | number)[];
type At = Partial<Diagnostic>;

/** What resolving one target shares: the root, the flags, where problems go, and each stage loaded once. */
interface Ctx {
  root: string;
  opts: PlanOptions;
  out: Diagnostic[];
  stages: Map<string, LoadedStage | null>;
  pipeline: LoadedPipeline | null;
  hooks: HooksPlan;
  /** Stage files whose on_complete / on_fail are already in `hooks` (a stage used twice runs its hook once). */
  hookFiles: Set<string>;
}

const err = (c: Ctx, file: string, message: string, at: At = {}) => problem(c.out, "error", file, message, at);

export function buildPlan(root: string, target: Target, opts: PlanOptions, out: Diagnostic[]): Plan | null {
  const c: Ctx = { root, opts, out, stages: new Map(), pipeline: null, hooks: { on_iteration: [], on_complete: [], on_fail: [] }, hookFiles: new Set() };
  const initial = resolveInputs(c, opts.inputs ?? [], "--input");
  if (opts.onComplete !== undefined) addHook(c, "on_complete", opts.onComplete, "--on-complete", { field: "--on-complete" }, null);
  if (opts.onFail !== undefined) addHook(c, "on_fail", opts.onFail, "--on-fail", { field: "--on-fail" }, null);
  const base = {
    version: 1 as const,
    session: opts.session,
    root,
    created_at: new Date().toISOString(),
    context: opts.context ?? null,
    keep: opts.keep ?? false,
    notify: opts.notify ?? false,
    hooks: c.hooks,
  };
  if (target.kind === "stage") {
    const st = loadStageSource(target.source, target.name, out);
    const node = st && stagePlan(c, st, target.name);
    if (!st || !node) return null;
    // A loop's stage budget is its session's: the flags set that one.
    return { ...base, budget: sessionBudget(c, null), type: "loop", target: { name: target.name, kind: "stage", source: sourceLabel(target.source) }, inputs: initial, commands: st.def.commands ?? {}, nodes: [node] };
  }
  const p = loadPipelineSource(target.source, target.name, out);
  if (!p) return null;
  c.pipeline = p;
  for (const kind of HOOK_KINDS) {
    const def = p.hooks[kind];
    if (def !== undefined) addHook(c, kind, def, p.file, { line: lineOf(p.yaml, [kind]), field: kind }, null);
  }
  const pipelineInputs = resolveInputs(c, p.inputs, p.file, p.yaml);
  const nodes: NodePlan[] = [];
  for (const raw of p.nodes) {
    const node = raw.kind === "stage" ? pipelineStage(c, p, raw, nodes) : parallelBlock(c, p, raw, nodes);
    if (node) nodes.push(node);
  }
  return { ...base, budget: sessionBudget(c, p.budget), type: "pipeline", target: { name: p.name, kind: "pipeline", source: sourceLabel(target.source) }, inputs: [...pipelineInputs, ...initial], commands: p.commands, nodes };
}

function stageByName(c: Ctx, name: string, file: string, at: At): LoadedStage | null {
  if (!c.stages.has(name)) {
    const src = findStage(c.root, name);
    if (!src) err(c, file, `unknown stage ${name}`, at);
    c.stages.set(name, src ? loadStageSource(src, name, c.out) : null);
  }
  return c.stages.get(name) ?? null;
}

function pipelineStage(c: Ctx, p: LoadedPipeline, raw: Extract<RawNode, { kind: "stage" }>, earlier: NodePlan[]): StagePlan | null {
  const { def, path } = raw;
  if (!def.stage && def.prompt === undefined) {
    err(c, p.file, "a node needs a stage, an inline prompt, or a parallel block", { line: lineOf(p.yaml, path), field: `${fieldOf(path)}.stage` });
    return null;
  }
  const named = def.stage ? stageByName(c, def.stage, p.file, keyAt(p.yaml, [...path, "stage"], [...path, "loop"])) : null;
  if (def.stage && !named) return null;
  let st = named!;
  if (def.prompt !== undefined) {
    // A block scalar (`prompt: |`) starts on the line after its key.
    lintPrompt(def.prompt, p.file, c.out, lineOf(p.yaml, [...path, "prompt"]) ?? 1);
    st = named ? { ...named, prompt: def.prompt } : { name: raw.id, def: { termination: { type: "fixed" } }, prompt: def.prompt, source: p.source, file: p.file, yaml: p.yaml };
  }
  checkNodeTermination(c, def, st, p, path);
  const node = stagePlan(c, st, raw.id, { node: def, path });
  if (node) node.inputs = nodeInputs(c, def.inputs, earlier, p, path);
  return node;
}

function parallelBlock(c: Ctx, p: LoadedPipeline, raw: Extract<RawNode, { kind: "parallel" }>, earlier: NodePlan[]): ParallelPlan {
  const { def, path } = raw;
  const block = def.parallel;
  const blockInputs = nodeInputs(c, def.inputs, earlier, p, path);
  const providers: ParallelPlan["providers"] = [];
  const pids = new Set<string>();
  block.providers.forEach((spec, i) => {
    const at = { line: lineOf(p.yaml, [...path, "parallel", "providers", i]), field: fieldOf([...path, "parallel", "providers", i]) };
    if (pids.has(spec.id)) err(c, p.file, `duplicate provider id ${spec.id} in parallel block ${raw.id}: give each an id`, at);
    pids.add(spec.id);
    const prov = providerPlan(c, spec.provider, spec.model ?? null, spec.command, p.file, at);
    if (prov) providers.push({ id: spec.id, provider: prov });
  });
  const stages: StagePlan[] = [];
  const stageIds = new Set<string>();
  block.stages.forEach((s, i) => {
    const spath = [...path, "parallel", "stages", i];
    if (!s.id || !s.stage) {
      err(c, p.file, "a parallel stage needs an id and a stage", { line: lineOf(p.yaml, spath), field: fieldOf(spath) });
      return;
    }
    if (stageIds.has(s.id)) err(c, p.file, `duplicate stage id ${s.id} in parallel block ${raw.id}`, { line: lineOf(p.yaml, spath), field: fieldOf(spath) });
    stageIds.add(s.id);
    if (s.provider) err(c, p.file, "a stage inside a parallel block runs with each of the block's providers: remove its provider", { line: lineOf(p.yaml, [...spath, "provider"]), field: `${fieldOf(spath)}.provider` });
    const st = stageByName(c, s.stage, p.file, keyAt(p.yaml, [...spath, "stage"], [...spath, "loop"]));
    if (!st) return;
    checkNodeTermination(c, s, st, p, spath);
    const plan = stagePlan(c, st, s.id, { node: { ...s, provider: undefined }, path: spath, inBlock: true });
    if (!plan) return;
    // The block's inputs go to each of its stages that names none of its own.
    plan.inputs = s.inputs ? nodeInputs(c, s.inputs, [...earlier, ...stages], p, spath) : blockInputs;
    stages.push(plan);
  });
  return {
    kind: "parallel",
    id: raw.id,
    description: def.description ?? null,
    providers,
    stages,
    isolation: block.isolation ?? (existsSync(join(c.root, ".git")) ? "worktree" : "none"),
    fail_fast: block.fail_fast,
    inputs: blockInputs,
    budget: budgetOf(def.budget),
  };
}

const budgetOf = (b: BudgetDef | null | undefined): BudgetPlan | null =>
  b && (b.usd !== undefined || b.tokens !== undefined) ? { usd: b.usd ?? null, tokens: b.tokens ?? null } : null;

/** The session's budget: each --budget-* flag over the pipeline's own figure. */
function sessionBudget(c: Ctx, own: BudgetDef | null): BudgetPlan | null {
  return budgetOf({ usd: c.opts.budgetUsd ?? own?.usd, tokens: c.opts.budgetTokens ?? own?.tokens });
}

/** The default time a hook may run before its process group is ended. */
export const HOOK_TIMEOUT_S = 60;

function addHook(c: Ctx, kind: HookKind, def: HookDef, file: string, at: At, stage: string | null): void {
  const text = typeof def === "string" ? def : def.command;
  let words: string[];
  try {
    words = splitWords(text);
  } catch (e) {
    err(c, file, `${kind}: ${(e as Error).message}`, at);
    return;
  }
  if (!words.length) {
    err(c, file, `${kind}: the command is empty`, at);
    return;
  }
  // A hook that is not installed is said at start (exit 5), not found missing at the end of a long run.
  if (c.opts.resolveBins && words[0] !== SELF_WORD) {
    try {
      words[0] = resolveExecutable(c.root, words[0]!);
    } catch {
      throw missingDep(`${kind} hook ${words[0]} not found${words[0]!.includes("/") ? "" : " on PATH"} (${file})`, { hint: "install it, or give the hook's full path", details: { missing: words[0] } });
    }
  }
  c.hooks[kind].push({ command: words, timeout: typeof def === "string" ? HOOK_TIMEOUT_S : (def.timeout ?? HOOK_TIMEOUT_S), stage, source: file });
}

/** The line and field of whichever of two spellings of a key is present. */
function keyAt(y: YamlFile, modern: Path, old: Path): At {
  const path = y.doc?.hasIn(modern) ? modern : old;
  return { line: lineOf(y, path), field: fieldOf(modern) };
}

function checkNodeTermination(c: Ctx, n: StageNode, st: LoadedStage, p: LoadedPipeline, path: Path): void {
  if (!n.termination) return;
  const base = [...path, "termination"];
  const type = n.termination.type ?? st.def.termination.type;
  checkTermination(n.termination, type, p.yaml, base, c.out);
  // The stage file already says so when the stage itself is a queue without a command.
  if (type === "queue" && st.def.termination.type !== "queue" && !n.termination.command && !st.def.termination.command) {
    problem(c.out, "hint", p.file, `queue node without termination.command: it uses '${DEFAULT_QUEUE}'`, { line: lineOf(p.yaml, [...base, "type"]), field: `${fieldOf(base)}.command` });
  }
}

/** Where node `id` stands relative to the node at `path` (a top-level node or a stage in a parallel block). */
function nodeOrder(p: LoadedPipeline, id: string, path: Path): "earlier" | "later" | "unknown" {
  const here = path[1] as number;
  const top = p.nodes.find((n) => n.id === id);
  if (top) return (top.path[1] as number) < here ? "earlier" : "later";
  const block = p.nodes.find((n) => n.path[1] === here);
  if (block?.kind !== "parallel") return "unknown";
  const at = block.def.parallel.stages.findIndex((s) => s.id === id);
  return at < 0 ? "unknown" : at < (path[4] as number) ? "earlier" : "later";
}

function nodeInputs(c: Ctx, def: StageNode["inputs"] | ParallelNode["inputs"], earlier: NodePlan[], p: LoadedPipeline, path: Path): InputsPlan {
  const inputs: InputsPlan = { from: null, select: def?.select ?? "latest", from_initial: def?.from_initial ?? false, from_parallel: null };
  if (!def) return inputs;
  const at = (k: string) => ({ line: lineOf(p.yaml, [...path, "inputs", k]), field: `${fieldOf(path)}.inputs.${k}` });
  if (def.from) {
    const target = earlier.find((n) => n.id === def.from);
    if (!target) {
      const order = nodeOrder(p, def.from, path);
      // An earlier node that did not resolve has its own error already.
      if (order !== "earlier") err(c, p.file, order === "later" ? `input from ${def.from}, which runs later (or is this node)` : `input from unknown node ${def.from}`, at("from"));
    } else if (target.kind === "parallel") {
      err(c, p.file, `${def.from} is a parallel block: use from_parallel: { block: ${def.from}, stage: <id> }`, at("from"));
    } else inputs.from = def.from;
  }
  if (def.from_parallel !== undefined) {
    const fp = typeof def.from_parallel === "string" ? { stage: def.from_parallel } : def.from_parallel;
    let blockId = "block" in fp ? fp.block : undefined;
    let stageId = fp.stage;
    if (!blockId && stageId.includes("/")) [blockId, stageId] = stageId.split("/", 2) as [string, string];
    const blocks = earlier.filter((n): n is ParallelPlan => n.kind === "parallel");
    const block = blockId ? blocks.find((b) => b.id === blockId) : blocks.findLast((b) => b.stages.some((s) => s.id === stageId));
    if (!block) err(c, p.file, `from_parallel: no earlier parallel block${blockId ? ` ${blockId}` : ""} with a stage ${stageId}`, at("from_parallel"));
    else if (!block.stages.some((s) => s.id === stageId)) err(c, p.file, `from_parallel: block ${block.id} has no stage ${stageId}`, at("from_parallel"));
    else {
      const sel = "select" in fp && fp.select && fp.select !== "latest" ? "all" : "latest";
      const providers = "providers" in fp && fp.providers ? fp.providers : null;
      for (const pid of providers ?? []) {
        if (!block.providers.some((x) => x.id === pid)) err(c, p.file, `from_parallel: block ${block.id} has no provider ${pid}`, at("from_parallel"));
      }
      inputs.from_parallel = { block: block.id, stage: stageId, providers, select: sel };
    }
  }
  return inputs;
}

interface NodeSite {
  node: StageNode;
  path: Path;
  /** A stage of a parallel block: the block's providers run it (its model is their fallback), so its own provider is not resolved. */
  inBlock?: boolean;
}

function stagePlan(c: Ctx, st: LoadedStage, id: string, site?: NodeSite): StagePlan | null {
  const { opts } = c;
  const sd = st.def;
  const node = site?.node;
  const p = c.pipeline;
  // Problems point at the node when it set the field, else at the stage.
  const where = (nodeSet: boolean, keys: string[]): [string, At] =>
    nodeSet && site && p ? [p.file, { line: lineOf(p.yaml, [...site.path, ...keys]), field: fieldOf([...site.path, ...keys]) }] : [st.file, { line: lineOf(st.yaml, keys), field: keys.join(".") }];
  const nt = node?.termination;
  const st_t = sd.termination;
  const type = nt?.type ?? st_t.type;
  const max = opts.max ?? node?.runs ?? nt?.max ?? st_t.max ?? LIMITS.defaultMax;
  const min = Math.min(nt?.min_iterations ?? st_t.min_iterations ?? 1, max);
  const consensus = nt?.consensus ?? st_t.consensus ?? 2;
  const queueText = nt?.command ?? st_t.command ?? (type === "queue" ? DEFAULT_QUEUE : undefined);
  let command: string[] | null = null;
  try {
    command = queueText ? splitWords(queueText) : null;
  } catch (e) {
    const [file, at] = where(nt?.command !== undefined, ["termination", "command"]);
    err(c, file, (e as Error).message, at);
  }
  // A queue whose command is not installed would fail at the first check: say so before starting.
  if (command?.[0] && opts.resolveBins) resolveExecutable(c.root, command[0], `the queue command of stage ${st.name}`);
  const inBlock = !!site?.inBlock;
  const model = opts.model ?? node?.model ?? sd.model ?? p?.defaults.model ?? null;
  const providerName = (inBlock ? undefined : opts.provider) ?? node?.provider ?? sd.provider ?? p?.defaults.provider ?? "claude";
  const commandText = (inBlock ? undefined : opts.command) ?? node?.command ?? sd.command;
  const provider = inBlock
    ? { name: providerName, model, command: null, bin: null }
    : providerPlan(c, providerName, model, commandText, ...where(node?.command !== undefined || node?.provider !== undefined, [(node?.command ?? sd.command) !== undefined ? "command" : "provider"]));
  const judgeDef = nt?.judge ?? st_t.judge;
  const judge = judgeDef
    ? providerPlan(c, judgeDef.provider ?? "claude", judgeDef.model ?? (judgeDef.provider && judgeDef.provider !== "claude" ? null : "haiku"), judgeDef.command, ...where(nt?.judge !== undefined, ["termination", "judge"]))
    : null;
  if (!provider) return null;
  for (const kind of HOOK_KINDS) {
    const def = sd[kind];
    if (def === undefined) continue;
    // A stage's on_iteration follows its own iterations; its on_complete / on_fail are the session's, once per file.
    if (kind !== "on_iteration" && c.hookFiles.has(`${kind}:${st.file}`)) continue;
    c.hookFiles.add(`${kind}:${st.file}`);
    addHook(c, kind, def, st.file, { line: lineOf(st.yaml, [kind]), field: kind }, kind === "on_iteration" ? id : null);
  }
  return {
    kind: "stage",
    id,
    stage: st.name,
    source: st.file,
    description: node?.description ?? sd.description ?? null,
    prompt: st.prompt,
    provider,
    termination: { type, max, min_iterations: min, consensus: Math.min(consensus, max), command, judge },
    delay: opts.delay ?? node?.delay ?? sd.delay ?? LIMITS.defaultDelay,
    timeout: opts.timeout ?? node?.timeout ?? sd.timeout ?? LIMITS.defaultTimeout,
    stall_after: node?.stall_after ?? sd.stall_after ?? LIMITS.defaultStallAfter,
    output_path: node?.output_path ?? sd.output_path ?? null,
    context: opts.context ?? node?.context ?? sd.context ?? null,
    inputs: { from: null, select: "latest", from_initial: false, from_parallel: null },
    on_error: node?.on_error ?? sd.on_error ?? "fail",
    retries: node?.retries ?? sd.retries ?? ((node?.on_error ?? sd.on_error) === "retry" ? 2 : 0),
    backoff: node?.backoff ?? sd.backoff ?? 30,
    budget: budgetOf(node?.budget ?? sd.budget),
  };
}

/** A provider as the plan records it, its executable resolved (when asked) so a missing one is exit 5 before anything is created. */
function providerPlan(c: Ctx, name: ProviderPlan["name"], model: string | null, command: string | undefined, file: string, at: At): ProviderPlan | null {
  const resolveBins = !!c.opts.resolveBins;
  if (name !== "command") return { name, model, command: null, bin: resolveBins ? resolveAgent(name) : null };
  if (!command) {
    err(c, file, "the command provider needs a command (stage 'command:' or --command)", at);
    return null;
  }
  let words: string[];
  try {
    words = splitWords(command);
  } catch (e) {
    err(c, file, (e as Error).message, at);
    return null;
  }
  if (words.length === 0) {
    err(c, file, "the command is empty", at);
    return null;
  }
  return { name, model, command: words, bin: resolveBins ? resolveExecutable(c.root, words[0]!) : null };
}

/** --input files (and a pipeline's inputs:) to absolute paths; a directory gives its files. */
function resolveInputs(c: Ctx, list: string[], file: string, y?: YamlFile): string[] {
  const res: string[] = [];
  for (const [i, item] of list.entries()) {
    const p = isAbsolute(item) ? item : resolve(y ? c.root : process.cwd(), item);
    if (!existsSync(p)) {
      err(c, file, `input ${item} does not exist`, y ? { line: lineOf(y, ["inputs", i]), field: `inputs[${i}]` } : { field: "inputs" });
      continue;
    }
    if (statSync(p).isDirectory()) {
      for (const f of readdirSync(p).sort()) if (/\.(md|ya?ml|json|txt)$/.test(f)) res.push(join(p, f));
    } else res.push(p);
  }
  return res;
}
