import * as v from "valibot";
import { isMap, isScalar, LineCounter, parseDocument, type Document } from "yaml";
import type { Diagnostic } from "./diagnostics.ts";
import { LIMITS } from "./schema.ts";

export interface YamlFile {
  file: string;
  doc: Document | null;
  data: unknown;
  lines: LineCounter;
}

/** Parse YAML text keeping positions, so every later problem can name its line. */
export function parseYaml(file: string, text: string, out: Diagnostic[]): YamlFile {
  const lines = new LineCounter();
  if (text.length > LIMITS.maxFileBytes) {
    out.push({ level: "error", file, message: `file is larger than ${LIMITS.maxFileBytes} bytes` });
    return { file, doc: null, data: undefined, lines };
  }
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  for (const e of doc.errors) {
    out.push({ level: "error", file, line: e.linePos?.[0]?.line, message: `YAML: ${e.message.split("\n")[0]}` });
  }
  if (doc.errors.length) return { file, doc: null, data: undefined, lines };
  let data: unknown;
  try {
    // maxAliasCount stops "billion laughs" alias bombs.
    data = doc.toJS({ maxAliasCount: 50 });
  } catch (e) {
    out.push({ level: "error", file, message: `YAML: ${(e as Error).message}` });
    return { file, doc: null, data: undefined, lines };
  }
  return { file, doc, data, lines };
}

export function lineOf(y: YamlFile, path: readonly (string | number)[], key = false): number | undefined {
  if (!y.doc) return undefined;
  for (let n = path.length; n >= 0; n--) {
    const node = y.doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node?.range) {
      if (key && n === path.length) {
        const k = keyNode(y, path);
        if (k) return y.lines.linePos(k).line;
      }
      return y.lines.linePos(node.range[0]).line;
    }
    // A key with no value (or a missing key): point at its parent map.
    if (n === path.length && key) {
      const k = keyNode(y, path);
      if (k !== undefined) return y.lines.linePos(k).line;
    }
  }
  return 1;
}

function keyNode(y: YamlFile, path: readonly (string | number)[]): number | undefined {
  const parent = y.doc?.getIn(path.slice(0, -1), true);
  if (!isMap(parent)) return undefined;
  const last = path[path.length - 1];
  for (const pair of parent.items) {
    if (isScalar(pair.key) && pair.key.value === last && pair.key.range) return pair.key.range[0];
  }
  return undefined;
}

export const fieldOf = (path: readonly (string | number)[]) =>
  path.reduce<string>((s, k) => (typeof k === "number" ? `${s}[${k}]` : s ? `${s}.${k}` : String(k)), "");

/** Validate part of a YAML file against a schema; each issue becomes a diagnostic with its line. */
export function check<S extends v.GenericSchema>(
  schema: S,
  y: YamlFile,
  value: unknown,
  base: (string | number)[],
  out: Diagnostic[],
): v.InferOutput<S> | null {
  const r = v.safeParse(schema, value);
  if (r.success) return r.output;
  for (const issue of r.issues) {
    const keys = [...base, ...(issue.path?.map((p) => p.key as string | number) ?? [])];
    let message = issue.message;
    let path = keys;
    if (issue.kind === "schema" && issue.type === "strict_object" && issue.input !== undefined) {
      message = `unknown field`;
    } else if (issue.input === undefined && issue.expected) {
      message = `missing required field`;
    }
    if (issue.type === "strict_object") path = keys;
    out.push({ level: "error", file: y.file, line: lineOf(y, path, true), field: fieldOf(path) || undefined, message });
  }
  return null;
}
