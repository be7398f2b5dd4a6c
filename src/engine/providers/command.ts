// Any program as a provider: its words, never a shell, with template variables filled in.
import type { ProviderPlan } from "../../defs/plan.ts";
import { SELF_WORD } from "../../defs/executables.ts";
import { renderTemplate, type TemplateValues } from "../../defs/template.ts";
import { selfArgv } from "../../lib/proc.ts";
import type { Provider } from "./types.ts";

/** Any program: its words (from the definition, never a shell) with template variables filled in. */
export const command: Provider = {
  name: "command",
  argv(plan: ProviderPlan, vars: TemplateValues) {
    const words = plan.command ?? [];
    const argv: string[] = [];
    words.forEach((w, i) => {
      if (w === SELF_WORD) argv.push(...selfArgv());
      else if (i === 0 && plan.bin) argv.push(plan.bin);
      else argv.push(renderTemplate(w, vars));
    });
    return argv;
  },
  parser: () => null,
  lingerMs: 0,
};
