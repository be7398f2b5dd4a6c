// Resolving a target and the command line's flags into the plan `run` executes: each node's
// stage, provider, termination, timings and inputs, with every problem (file, line, field) in `out`.
import { existsSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { splitWords } from "../lib/shellwords.ts";
import { checkTermination, DEFAULT_QUEUE, HOOK_KINDS, lintPrompt, loadPipelineSource, loadStageSource, problem, type LoadedPipeline, type LoadedStage, type RawNode } from "./definition.ts";
import type { Diagnostic } from "./diagnostics.ts";
import { resolveAgent, resolveExecutable } from "./executables.ts";
import { findStage, listDefinitions, sourceLabel, type Target } from "./find.ts";
import { closest } from "../lib/suggest.ts";
import { modernModel, type ModernModel, type StageNode } from "./legacy.ts";
import { fieldOf, lineOf, type YamlFile } from "./load.ts";
import type { BudgetPlan, NodePlan, ParallelPlan, Plan, ProviderPlan, StagePlan } from "./plan.ts";
import { LIMITS, type BudgetDef, type Effort } from "./schema.ts";
import { err, type At, type Ctx, type Path, type PlanOptions } from "./resolving.ts";
import { nodeInputs, resolveInputs } from "./inputs.ts";
import { addHook } from "./hooks.ts";

export type { PlanOptions };

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
    return { ...base, budget: sessionBudget(c, null), type: "loop", target: { name: target.name, kind: "stage", source: sourceLabel(target.source) }, inputs: initial, commands: st.def.commands ?? {}, runs: opts.runs ?? 1, nodes: [node] };
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
  return { ...base, budget: sessionBudget(c, p.budget), type: "pipeline", target: { name: p.name, kind: "pipeline", source: sourceLabel(target.source) }, inputs: [...pipelineInputs, ...initial], commands: p.commands, runs: opts.runs ?? p.runs, nodes };
}

function stageByName(c: Ctx, name: string, file: string, at: At): LoadedStage | null {
  if (!c.stages.has(name)) {
    const src = findStage(c.root, name);
    if (!src) {
      const near = closest(name, listDefinitions(c.root).filter((d) => d.kind === "stage").map((d) => d.name));
      err(c, file, `unknown stage ${name}${near ? ` (did you mean ${near}?)` : ""}`, at);
    }
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
    const mm = modelOf(c, spec.provider, spec.model ?? null, spec.effort ?? null, () => [p.file, keyAt(p.yaml, [...path, "parallel", "providers", i, spec.model !== undefined ? "model" : "effort"], [...path, "parallel", "providers", i])]);
    const prov = providerPlan(c, spec.provider, mm, spec.command, p.file, at);
    if (prov) providers.push({ id: spec.id, provider: prov });
  });
  // The block's providers that take a stage's model when they name none of their own.
  const fallbackFor = block.providers.filter((x) => x.model === undefined).map((x) => x.provider);
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
    const plan = stagePlan(c, st, s.id, { node: { ...s, provider: undefined }, path: spath, inBlock: fallbackFor });
    if (!plan) return;
    // The block's inputs go to each of its stages that names none of its own.
    plan.inputs = s.inputs ? nodeInputs(c, s.inputs, [...earlier, ...stages], p, spath) : blockInputs;
    stages.push(plan);
  });
  // A provider's own inputs replace the block's for it, in each stage that names none of its own.
  block.providers.forEach((spec, i) => {
    const prov = providers.find((x) => x.id === spec.id);
    if (!spec.inputs || !prov) return;
    const own = nodeInputs(c, spec.inputs, earlier, p, [...path, "parallel", "providers", i]);
    prov.inputs = Object.fromEntries(block.stages.filter((s) => !s.inputs && stages.some((x) => x.id === s.id)).map((s) => [s.id!, own]));
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

interface NodeSite {
  node: StageNode;
  path: Path;
  /**
   * A stage of a parallel block: the block's providers run it, so its own provider is not resolved;
   * its model is the fallback of these providers (those naming no model), checked for each.
   */
  inBlock?: ProviderPlan["name"][];
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
  const inBlock = site?.inBlock;
  const rawModel = opts.model ?? node?.model ?? sd.model ?? p?.defaults.model ?? null;
  const rawEffort = node?.effort ?? sd.effort ?? null;
  // Problems of the model point where it was written: the flag, the node, the stage, or the defaults.
  const modelAt = (): [string, At] => {
    const key = (set: { model?: string }) => [set.model !== undefined ? "model" : "effort"];
    if (opts.model !== undefined) return ["--model", { field: "model" }];
    if (node?.model !== undefined || (node?.effort !== undefined && sd.model === undefined)) return where(true, key(node));
    if (sd.model !== undefined || sd.effort !== undefined || !p) return where(false, key(sd));
    return [p.file, { line: lineOf(p.yaml, ["defaults", "model"]), field: "defaults.model" }];
  };
  const providerName = (inBlock ? undefined : opts.provider) ?? node?.provider ?? sd.provider ?? p?.defaults.provider ?? "claude";
  const commandText = (inBlock ? undefined : opts.command) ?? node?.command ?? sd.command;
  // In a block the raw model is kept: each provider that falls back on it normalizes it its own way (view.ts).
  for (const name of inBlock ?? []) modelOf(c, name, rawModel, name === "codex" ? rawEffort : null, modelAt);
  const provider = inBlock
    ? { name: providerName, model: rawModel, effort: rawEffort, command: null, bin: null }
    : providerPlan(c, providerName, modelOf(c, providerName, rawModel, rawEffort, modelAt), commandText, ...where(node?.command !== undefined || node?.provider !== undefined, [(node?.command ?? sd.command) !== undefined ? "command" : "provider"]));
  const judgeDef = nt?.judge ?? st_t.judge;
  const judgeAt = () => where(nt?.judge !== undefined, ["termination", "judge"]);
  const judgeProvider = judgeDef?.provider ?? "claude";
  const judge = judgeDef
    ? providerPlan(c, judgeProvider, modelOf(c, judgeProvider, judgeDef.model ?? (judgeProvider !== "claude" ? null : "haiku"), null, judgeAt), judgeDef.command, ...judgeAt())
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
  const outputPath = node?.output_path ?? sd.output_path ?? null;
  const outside = outputPath && relative(c.root, resolve(c.root, outputPath.replaceAll("${SESSION_NAME}", opts.session))).startsWith("..");
  if (outside) {
    const [file, at] = where(node?.output_path !== undefined, ["output_path"]);
    problem(c.out, "warning", file, `output_path ${outputPath} is outside the project root: agents write there`, at);
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
    output_path: outputPath,
    context: opts.context ?? node?.context ?? sd.context ?? null,
    inputs: { from: null, select: "latest", from_initial: false, from_parallel: [] },
    on_error: node?.on_error ?? sd.on_error ?? "fail",
    retries: node?.retries ?? sd.retries ?? ((node?.on_error ?? sd.on_error) === "retry" ? 2 : 0),
    backoff: node?.backoff ?? sd.backoff ?? 30,
    budget: budgetOf(node?.budget ?? sd.budget),
  };
}

/** A model as `provider`'s CLI takes it (legacy spellings, codex effort), its problem reported where `at` says. */
function modelOf(c: Ctx, provider: string, model: string | null, effort: Effort | null, at: () => [string, At]): ModernModel {
  const m = modernModel(provider, model, effort);
  if (m.problem) {
    const [file, where] = at();
    problem(c.out, m.problem.level, file, m.problem.message, where);
  }
  return m;
}

/** A provider as the plan records it, its executable resolved (when asked) so a missing one is exit 5 before anything is created. */
function providerPlan(c: Ctx, name: ProviderPlan["name"], m: ModernModel, command: string | undefined, file: string, at: At): ProviderPlan | null {
  const resolveBins = !!c.opts.resolveBins;
  const { model, effort } = m;
  if (name !== "command") return { name, model, effort, command: null, bin: resolveBins ? resolveAgent(name) : null };
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
  return { name, model, effort, command: words, bin: resolveBins ? resolveExecutable(c.root, words[0]!) : null };
}

