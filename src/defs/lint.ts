// lint: every problem of every definition, by the same resolution start uses.
import { existsSync, readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { rootPaths } from "../store/paths.ts";
import type { Diagnostic } from "./diagnostics.ts";
import { listDefinitions, sourceLabel, type Listed } from "./find.ts";
import { fieldOf, lineOf } from "./load.ts";
import { loadPipelineSource } from "./definition.ts";
import type { Target } from "./find.ts";
import { buildPlan } from "./resolve.ts";

export interface LintedDefinition {
  kind: Listed["kind"];
  name: string;
  source: string;
  ok: boolean;
  problems: Diagnostic[];
}

export interface LintReport {
  ok: boolean;
  definitions: LintedDefinition[];
  errors: number;
  warnings: number;
  hints: number;
}

const ORDER = { error: 0, warning: 1, hint: 2 } as const;

/**
 * Every problem of one definition: the same resolution `start` does (buildPlan), without looking
 * for agent executables, so lint and start can never disagree about what is valid.
 */
export function lintDefinition(root: string, target: Target): Diagnostic[] {
  const out: Diagnostic[] = [];
  buildPlan(root, target, { session: "lint", resolveBins: false }, out);
  return dedupe(out);
}

/** Lint one target (a name or a path, resolved by the caller). */
export function lintTarget(root: string, target: Target, strict: boolean): LintReport {
  return report([entry(target, lintDefinition(root, target), strict)]);
}

/**
 * Lint everything visible from the root (project-local first, then built-in, shadowed ones
 * skipped). A stage's problems are listed once, under the stage: a pipeline using a broken stage
 * gets one error at the node that names it instead of a copy of each.
 */
export function lintAll(root: string, strict: boolean): LintReport {
  const visible = listDefinitions(root).filter((d) => !d.shadowed);
  const stageDirs = new Map<string, string>();
  for (const d of visible) if (d.kind === "stage") stageDirs.set(dirname(sourceLabel(d.source)) + "/", d.name);
  const defs: LintedDefinition[] = strayStageDirs(root).map((dir) => ({
    kind: "stage",
    name: dir.name,
    source: dir.label,
    ok: !strict,
    problems: [{ level: "warning", file: dir.label, message: "a folder under stages/ without stage.yaml: not a stage (add stage.yaml or move it)" }],
  }));
  // Stages first, so a pipeline's reference to a stage follows the stage's own verdict.
  for (const d of [...visible.filter((x) => x.kind === "stage"), ...visible.filter((x) => x.kind === "pipeline")]) {
    const target: Target = { kind: d.kind, name: d.name, source: d.source };
    let problems = lintDefinition(root, target);
    if (d.kind === "pipeline") {
      const own: Diagnostic[] = [];
      const brokenStages = new Map<string, number>();
      for (const p of problems) {
        const stage = [...stageDirs].find(([prefix]) => p.file.startsWith(prefix))?.[1];
        if (!stage) own.push(p);
        else if (p.level === "error") brokenStages.set(stage, (brokenStages.get(stage) ?? 0) + 1);
      }
      for (const [stage, n] of brokenStages) {
        for (const at of stageRefs(d, stage)) {
          own.push({ level: "error", file: sourceLabel(d.source), ...at, message: `stage ${stage} has ${n} error${n === 1 ? "" : "s"} (listed under stage ${stage})` });
        }
      }
      problems = own;
    }
    defs.push(entry(target, problems, strict));
  }
  return report(defs);
}

function entry(t: Target, problems: Diagnostic[], strict: boolean): LintedDefinition {
  const sorted = problems.toSorted((a, b) => a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0) || ORDER[a.level] - ORDER[b.level]);
  const bad = sorted.some((p) => p.level === "error" || (strict && p.level === "warning"));
  return { kind: t.kind, name: t.name, source: sourceLabel(t.source), ok: !bad, problems: sorted };
}

function report(definitions: LintedDefinition[]): LintReport {
  const count = (level: Diagnostic["level"]) => definitions.reduce((n, d) => n + d.problems.filter((p) => p.level === level).length, 0);
  return { ok: definitions.every((d) => d.ok), definitions, errors: count("error"), warnings: count("warning"), hints: count("hint") };
}

/** A stage used by several nodes reports its own problems once per use. */
function dedupe(ds: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const k = `${d.level}|${d.file}|${d.line}|${d.field}|${d.message}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
}

/** The lines of a pipeline where `stage` is named (a node or a stage of a parallel block). */
function stageRefs(d: Listed, stage: string): Pick<Diagnostic, "line" | "field">[] {
  const p = loadPipelineSource(d.source, d.name, []);
  if (!p) return [];
  const refs: (string | number)[][] = [];
  // The key as written: `stage:` or its old spelling `loop:`.
  const ref = (at: (string | number)[]) => [...at, p.yaml.doc?.hasIn([...at, "stage"]) ? "stage" : "loop"];
  for (const n of p.nodes) {
    if (n.kind === "stage") {
      if (n.def.stage === stage) refs.push(ref(n.path));
    } else {
      n.def.parallel.stages.forEach((s, j) => {
        if (s.stage === stage) refs.push(ref([...n.path, "parallel", "stages", j]));
      });
    }
  }
  return refs.map((path) => ({
    line: lineOf(p.yaml, path),
    field: fieldOf(path),
  }));
}

/** Folders under the project's stages/ that hold no stage.yaml (listDefinitions skips them). */
function strayStageDirs(root: string): { name: string; label: string }[] {
  const dir = join(rootPaths(root).defs, "stages");
  let names: string[];
  try {
    names = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch {
    return [];
  }
  return names.filter((n) => !existsSync(join(dir, n, "stage.yaml"))).map((n) => ({ name: n, label: relative(root, join(dir, n)) + "/" }));
}
