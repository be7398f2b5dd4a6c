import { defineCommand } from "citty";
import { Exit } from "../lib/errors.ts";
import { c, emit, json, log } from "../lib/output.ts";
import { ended, loop, poll } from "../sessions/follow.ts";
import { inspect, requireSession } from "../sessions/inspect.ts";
import { sessionRef } from "../sessions/overview.ts";
import { paintStatus } from "../sessions/view.ts";
import { resolveRoot } from "../store/paths.ts";
import { jsonArg, num, rootArg, sessionArg } from "./_args.ts";

export default defineCommand({
  meta: { name: "wait", description: "Block until the session ends; exit 0 when it completed, 1 otherwise" },
  args: {
    ...sessionArg,
    timeout: { type: "string", description: "give up after this many seconds (exit 1)" },
    ...jsonArg,
    ...rootArg,
  },
  async run({ args }) {
    const root = resolveRoot(args.root);
    const session = sessionRef(args.session);
    const timeout = num(args.timeout, "--timeout", 0, 365 * 86_400);
    requireSession(root, session);
    const started = Date.now();
    const progress = process.stderr.isTTY && !args.json;
    let ev = poll(root, session);
    const how = await loop(
      () => {
        ev = poll(root, session);
        if (progress) {
          const s = ev.state;
          const where = s ? `, ${s.current_stage_id ?? "-"} iteration ${s.iteration}/${s.max}` : "";
          process.stderr.write(`\r\x1b[2Kwaiting for ${session}: ${ev.status}${where} (${Math.round((Date.now() - started) / 1000)}s)`);
        }
        return ended(ev);
      },
      500,
      timeout === undefined ? Infinity : started + timeout * 1000,
    );
    if (progress) process.stderr.write("\r\x1b[2K");
    if (how !== "done") {
      const why = how === "timeout" ? `timed out after ${timeout}s` : "interrupted";
      if (args.json) json({ session, status: ev.status, timed_out: how === "timeout" });
      else log.warn(`${why}: session ${session} is still ${ev.status}`);
      return Exit.failed;
    }
    const doc = inspect(root, session);
    emit(args.json, doc, () => {
      const detail = doc.status === "complete" ? ("completion_reason" in doc ? doc.completion_reason : null) : (doc.error?.message ?? doc.unreadable);
      return `${session}: ${paintStatus(doc.status)}${detail ? c.dim(` — ${detail}`) : ""}`;
    });
    return doc.status === "complete" ? Exit.ok : Exit.failed;
  },
});
