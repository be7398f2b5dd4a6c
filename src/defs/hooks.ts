// Resolving hooks (on_iteration, on_complete, on_fail): their words, their executable, their timeout.
import { missingDep } from "../lib/errors.ts";
import { splitWords } from "../lib/shellwords.ts";
import type { HookKind } from "./definition.ts";
import { resolveExecutable, SELF_WORD } from "./executables.ts";
import { err, type At, type Ctx } from "./resolving.ts";
import type { HookDef } from "./schema.ts";

/** The default time a hook may run before its process group is ended. */
const HOOK_TIMEOUT_S = 60;

export function addHook(c: Ctx, kind: HookKind, def: HookDef, file: string, at: At, stage: string | null): void {
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
