import { defineCommand } from "citty";
import { Exit } from "../lib/errors.ts";
import { json, log, out } from "../lib/output.ts";
import type { EventsRead } from "../store/events.ts";
import { ended, eventsTail, loop, poll } from "../sessions/follow.ts";
import { sessionRef } from "../sessions/overview.ts";
import { eventLine, truncate } from "../sessions/view.ts";
import { resolveRoot } from "../store/paths.ts";
import { followArg, num, rootArg, sessionArg } from "./_args.ts";

export default defineCommand({
  meta: { name: "tail", description: "The session's event log as readable lines; --follow keeps printing until it ends" },
  args: {
    ...sessionArg,
    lines: { type: "string", description: "how many of the last events to print (default 20)" },
    ...followArg,
    json: { type: "boolean", description: "print the events as JSON Lines" },
    ...rootArg,
  },
  async run({ args }) {
    const root = resolveRoot(args.root);
    const session = sessionRef(args.session);
    const t = await eventsTail(root, session, num(args.lines, "--lines", 0, 1_000_000, true) ?? 20);
    const print = (r: EventsRead) => {
      for (const b of r.bad) log.warn(`events.jsonl: skipped ${b.torn ? "a torn line" : "a line that is not an event"}: ${truncate(b.text, 80)}`);
      for (const e of r.events) args.json ? json(e) : out(eventLine(e));
    };
    print(t);
    if (!args.follow) {
      if (!t.events.length && !t.bad.length) log.info(`session ${session} has no events yet`);
      return Exit.ok;
    }
    await loop(() => {
      const done = ended(poll(root, session));
      // Read after the check: the engine appends its last event before it writes its final state.
      print(t.next());
      return done;
    }, 250);
    return Exit.ok;
  },
});
