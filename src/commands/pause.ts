import { defineCommand } from "citty";
import { Exit } from "../lib/errors.ts";
import { c, emit } from "../lib/output.ts";
import { pause } from "../sessions/pause.ts";
import { resolveRoot } from "../store/paths.ts";
import { jsonArg, rootArg, sessionArg } from "./_args.ts";
import { selfName } from "../lib/proc.ts";

export default defineCommand({
  meta: { name: "pause", description: "Let the running iteration finish, then hold the session until 'resume'" },
  args: {
    ...sessionArg,
    wait: { type: "boolean", description: "return once the session holds (or has ended)" },
    ...jsonArg,
    ...rootArg,
  },
  async run({ args }) {
    const r = await pause(resolveRoot(args.root), args.session, !!args.wait);
    emit(args.json, r, () =>
      r.status === "paused"
        ? `${c.yellow("paused")} ${r.session}; '${selfName()} resume ${r.session}' continues it`
        : `pause requested for ${r.session} (status ${r.status}): it holds after the running iteration; '${selfName()} resume ${r.session}' continues it`,
    );
    return Exit.ok;
  },
});
