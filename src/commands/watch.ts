import { defineCommand } from "citty";
import { Exit, usage } from "../lib/errors.ts";
import { watch } from "../sessions/watch.ts";
import { resolveRoot } from "../store/paths.ts";
import { rootArg } from "./_args.ts";

export default defineCommand({
  meta: { name: "watch", description: "Full-screen live view of every session of the root (a terminal only)" },
  args: { ...rootArg },
  async run({ args }) {
    const root = resolveRoot(args.root);
    if (!process.stdout.isTTY || !process.stdin.isTTY) {
      throw usage("watch needs a terminal (stdin and stdout), and this is not one", { hint: "'sessions list --json' gives the same rows as data; 'sessions status <session> --json' one session" });
    }
    await watch(root);
    return Exit.ok;
  },
});
