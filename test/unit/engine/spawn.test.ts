import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { spawnAgent } from "../../../src/engine/providers/spawn.ts";
import { gone, tempRoot, until } from "../../helpers.ts";

// Codex runs each command in a session of its own and leaves it running when it is ended.
test("ending an agent ends what it started outside its process group (setsid) too", async () => {
  using dir = tempRoot({ git: false });
  const pidFile = join(dir.path, "child.pid");
  const abort = new AbortController();
  const run = spawnAgent({
    argv: ["bash", "-c", `setsid sleep 300 & echo $! > '${pidFile}'; wait`],
    cwd: dir.path,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    prompt: "",
    timeoutMs: 60_000,
    outputPath: join(dir.path, "output.md"),
    rawPath: null,
    statusPath: join(dir.path, "status.json"),
    parser: null,
    echo: () => {},
    abort: abort.signal,
  });
  const child = await until(() => (existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8")) : 0), 5000, "the child");
  expect(gone(child)).toBe(false);
  abort.abort();
  const r = await run;
  expect(r.aborted).toBe(true);
  await until(() => gone(child), 3000, "the setsid child to end");
});
