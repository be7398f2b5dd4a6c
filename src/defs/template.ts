// Prompt templates: the variables a prompt uses (for lint), and rendering them in one pass.
import { LEGACY_VARS, TEMPLATE_VARS } from "./schema.ts";

// ${NAME} not preceded by another $ ($${X} is the escape for a literal ${X}).
const VAR = /(\$?)\$\{([^}\n]*)\}/g;

export type TemplateValues = Record<(typeof TEMPLATE_VARS)[number] | "INDEX", string>;

const known = new Set<string>([...TEMPLATE_VARS, ...Object.keys(LEGACY_VARS)]);

export interface VarUse {
  name: string;
  line: number;
  legacy: boolean;
}

/** Every variable a template uses, with its line, to lint unknown and legacy names. */
export function scanTemplate(text: string): { unknown: VarUse[]; legacy: VarUse[] } {
  const unknown: VarUse[] = [];
  const legacy: VarUse[] = [];
  for (const m of text.matchAll(VAR)) {
    if (m[1]) continue;
    const name = m[2]!;
    const line = text.slice(0, m.index).split("\n").length;
    if (!known.has(name)) unknown.push({ name, line, legacy: false });
    else if (name in LEGACY_VARS) legacy.push({ name, line, legacy: true });
  }
  return { unknown, legacy };
}

/** Substitute variables; unknown ones were refused by lint, and are left as written. */
export function renderTemplate(text: string, values: TemplateValues): string {
  return text.replace(VAR, (all, esc: string, name: string) => {
    if (esc) return all.slice(1);
    const key = (LEGACY_VARS[name] ?? name) as keyof TemplateValues;
    return key in values ? values[key] : all;
  });
}
