import { existsSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { library } from "../../pipelines/index.ts";
import { notFound } from "../lib/errors.ts";
import { listDir, readText } from "../store/fsx.ts";
import { rootPaths } from "../store/paths.ts";
import { LIMITS } from "./schema.ts";
import { selfName } from "../lib/proc.ts";

/** Where a definition file comes from: the project (a real path) or the library compiled into the binary. */
export type Source = { kind: "project"; path: string; root: string } | { kind: "builtin"; path: string };

export const BUILTIN_PREFIX = "builtin:";

export function sourceLabel(s: Source): string {
  if (s.kind === "builtin") return `${BUILTIN_PREFIX}pipelines/${s.path}`;
  const rel = relative(s.root, s.path);
  return rel.startsWith("..") ? s.path : rel;
}

/** A definition's text, or null when it does not exist; a file too large, or not a regular file, is an error saying so. */
export function readSource(s: Source): string | null {
  if (s.kind === "builtin") return library[s.path] ?? null;
  // Bounded and never blocking: a stage.yaml that is a FIFO or /dev/zero is refused, not read.
  return readText(s.path, LIMITS.maxFileBytes);
}

/** A sibling of a definition file (prompt.md beside stage.yaml). */
export function sibling(s: Source, name: string): Source {
  if (s.kind === "builtin") return { kind: "builtin", path: s.path.replace(/[^/]*$/, "") + name };
  return { ...s, path: join(s.path, "..", name) };
}

/** A project folder stages/{name}/ is that stage, even without its stage.yaml (loading it then says what is missing). */
export function findStage(root: string, name: string): Source | null {
  const local = join(rootPaths(root).defs, "stages", name, "stage.yaml");
  if (existsSync(dirname(local))) return { kind: "project", path: local, root };
  const builtin = `stages/${name}/stage.yaml`;
  return builtin in library ? { kind: "builtin", path: builtin } : null;
}

export function findPipeline(root: string, name: string): Source | null {
  for (const ext of [".yaml", ".yml"]) {
    const local = join(rootPaths(root).defs, name + ext);
    if (existsSync(local)) return { kind: "project", path: local, root };
  }
  const builtin = `${name}.yaml`;
  return builtin in library ? { kind: "builtin", path: builtin } : null;
}

export const looksLikePath = (target: string) => target.includes("/") || /\.ya?ml$/.test(target);

export function pathSource(root: string, target: string): Source | null {
  const p = isAbsolute(target) ? target : resolve(process.cwd(), target);
  if (!existsSync(p)) return null;
  // A directory is a stage folder; loading it says what it lacks.
  if (statSync(p).isDirectory()) return { kind: "project", path: join(p, "stage.yaml"), root };
  return { kind: "project", path: p, root };
}

export const isStageFile = (s: Source) => /(^|\/)stage\.ya?ml$/.test(s.path);

export interface Listed {
  kind: "stage" | "pipeline";
  name: string;
  source: Source;
  /** Shadowed by a project-local definition of the same name. */
  shadowed: boolean;
}

/** Every definition visible from `root`: project-local first, then built-in. */
export function listDefinitions(root: string): Listed[] {
  const out: Listed[] = [];
  const seen = new Set<string>();
  const defs = rootPaths(root).defs;
  const add = (kind: Listed["kind"], name: string, source: Source) => {
    const key = `${kind}:${name}`;
    out.push({ kind, name, source, shadowed: seen.has(key) });
    seen.add(key);
  };
  for (const name of listDir(join(defs, "stages")).sort()) {
    const f = join(defs, "stages", name, "stage.yaml");
    if (existsSync(f)) add("stage", name, { kind: "project", path: f, root });
  }
  for (const f of listDir(defs).sort()) {
    const m = /^(.*)\.ya?ml$/.exec(f);
    if (m) add("pipeline", m[1]!, { kind: "project", path: join(defs, f), root });
  }
  for (const path of Object.keys(library).sort()) {
    const stage = /^stages\/([^/]+)\/stage\.yaml$/.exec(path);
    if (stage) add("stage", stage[1]!, { kind: "builtin", path });
    const pipe = /^([^/]+)\.yaml$/.exec(path);
    if (pipe) add("pipeline", pipe[1]!, { kind: "builtin", path });
  }
  return out;
}


export type Target = { kind: "stage" | "pipeline"; name: string; source: Source };

/** A start or lint target: a path to a definition file, else a stage name, else a pipeline name. */
export function findTarget(root: string, target: string): Target {
  if (looksLikePath(target)) {
    const s = pathSource(root, target);
    if (!s) throw notFound(`no definition at ${target}`, { hint: "give a stage name, a pipeline name, or the path of a .yaml file" });
    if (isStageFile(s)) return { kind: "stage", name: s.path.split("/").slice(-2)[0]!, source: s };
    return { kind: "pipeline", name: s.path.split("/").pop()!.replace(/\.ya?ml$/, ""), source: s };
  }
  const stage = findStage(root, target);
  if (stage) return { kind: "stage", name: target, source: stage };
  const pipe = findPipeline(root, target);
  if (pipe) return { kind: "pipeline", name: target, source: pipe };
  const names = [...new Set(listDefinitions(root).map((d) => d.name))];
  throw notFound(`no stage or pipeline named ${target}`, { hint: `known: ${names.join(", ")} ('${selfName()} stages', '${selfName()} pipelines')` });
}
