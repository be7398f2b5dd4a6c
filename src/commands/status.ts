import { defineCommand } from "citty";
import { Exit } from "../lib/errors.ts";
import { emit, stdoutIsTTY } from "../lib/output.ts";
import { inspect } from "../sessions/inspect.ts";
import { sessionRef } from "../sessions/overview.ts";
import { statusView } from "../sessions/view.ts";
import { resolveRoot } from "../store/paths.ts";
import { jsonArg, rootArg, sessionArg } from "./_args.ts";

export default defineCommand({
  meta: { name: "status", description: "One session in detail: status, progress, last decision, error, paths" },
  args: { ...sessionArg, ...jsonArg, ...rootArg },
  run({ args }) {
    const doc = inspect(resolveRoot(args.root), sessionRef(args.session));
    emit(args.json, doc, () => statusView(doc, { tty: stdoutIsTTY() }));
    // An unreadable state is shown as found, never repaired; the exit code says something is wrong.
    return doc.status === "unreadable" ? Exit.failed : Exit.ok;
  },
});
