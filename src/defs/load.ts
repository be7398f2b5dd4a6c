import * as v from "valibot";
import { isMap, isScalar, LineCounter, parseDocument, type Document } from "yaml";
import { closest } from "../lib/suggest.ts";
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
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  for (const e of doc.errors) {
    out.push({ level: "error", file, line: e.linePos?.[0]?.line, message: `YAML: ${e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")}` });
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
  for (const issue of r.issues) report(schema, y, issue, base, base, out);
  return null;
}

type Issue = v.BaseIssue<unknown>;
const BASIC_TYPES = new Set(["string", "number", "boolean", "object", "strict_object", "loose_object", "array", "record"]);

/** `base` is where this issue's path starts (deeper for a union's sub-issues), `top` where `schema` sits. */
function report(schema: v.GenericSchema, y: YamlFile, issue: Issue, base: (string | number)[], top: (string | number)[], out: Diagnostic[]): void {
  const path = [...base, ...(issue.path?.map((p) => p.key as string | number) ?? [])];
  if (issue.type === "union" && issue.issues) {
    // A union (e.g. a provider name or a provider object) fails in every branch: report only the
    // branches whose basic type matches the value, so "gemini" gives "expected claude, codex or command".
    const relevant = issue.issues.filter((i) => i.path?.length || !BASIC_TYPES.has(i.type));
    if (relevant.length) {
      for (const sub of relevant) report(schema, y, sub, path, top, out);
      return;
    }
  }
  if (issue.type === "strict_object" && issue.expected === "never") {
    // valibot stops at the first unknown key of an object: report every one of them.
    const known = fieldNames(schema, path.slice(top.length, -1).filter((k) => typeof k === "string"));
    const obj = issue.path?.[issue.path.length - 1]?.input;
    const first = String(path[path.length - 1]);
    const names = known.length && obj && typeof obj === "object" ? Object.keys(obj).filter((k) => !known.includes(k)) : [first];
    for (const name of names.length ? names : [first]) {
      const at = [...path.slice(0, -1), name];
      const s = closest(name, known);
      out.push({ level: "error", file: y.file, line: lineOf(y, at, true), field: fieldOf(at), message: `unknown field ${name}${s ? ` (did you mean ${s}?)` : ""}` });
    }
    return;
  }
  let message: string;
  if (issue.input === undefined && issue.expected) message = "missing required field";
  else if (issue.kind === "schema" && issue.message.startsWith("Invalid type:")) {
    // Text is named, not echoed: a file that is no definition at all (start ../../etc/passwd) stays unprinted.
    message = `expected ${typeName(issue.expected)}, got ${issue.input === null ? "nothing" : typeof issue.input === "string" ? "text" : issue.received}`;
  } else if (issue.type === "picklist") message = `${issue.message} (got ${issue.received})`;
  else message = issue.message;
  out.push({ level: "error", file: y.file, line: lineOf(y, path, true), field: fieldOf(path) || undefined, message });
}

const typeName = (t: string | null) =>
  ({ Object: "a mapping (key: value)", Array: "a list", string: "text", number: "a number", boolean: "true or false" } as Record<string, string>)[t ?? ""] ?? t ?? "something else";

/** The keys a (possibly wrapped) object schema accepts at `keys` below it, for typo suggestions. */
function fieldNames(schema: unknown, keys: (string | number)[]): string[] {
  const s = schema as { entries?: Record<string, unknown>; wrapped?: unknown; options?: unknown[]; item?: unknown };
  if (s.wrapped) return fieldNames(s.wrapped, keys);
  if (s.options) return s.options.flatMap((o) => fieldNames(o, keys));
  if (s.item) return fieldNames(s.item, keys);
  if (!s.entries) return [];
  if (!keys.length) return Object.keys(s.entries);
  const [k, ...rest] = keys;
  return typeof k === "string" && k in s.entries ? fieldNames(s.entries[k], rest) : [];
}
