/** Shell completion through the real script in bash, with the binary answering `_complete`. */
import { expect, test } from "bun:test";
import { BIN, cleanEnv, fakeStage, sessions, tempRoot } from "../helpers.ts";

function complete(root: string, words: string[]): string[] {
  const script = `eval "$(${BIN} completion bash)"; COMP_WORDS=(${[BIN, ...words].map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length}; _sessions; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = Bun.spawnSync(["bash", "-c", script], { cwd: root, env: cleanEnv({ SESSIONS_ROOT: root }) });
  return r.stdout.toString().split("\n").filter(Boolean);
}

test("bash completes verbs, a verb's flags, targets for start and session names for the others", async () => {
  using root = tempRoot();
  fakeStage(root.path, "mine", { script: "stop" });
  expect((await sessions(["start", "mine", "done-one", "--foreground", "--root", root.path])).code).toBe(0);
  expect(complete(root.path, ["st"])).toEqual(["start", "status", "stages"]);
  expect(complete(root.path, ["kill", "--a"])).toEqual(["--all"]);
  expect(complete(root.path, ["start", "mi"])).toEqual(["mine"]);
  expect(complete(root.path, ["start", "dem"])).toEqual(["demo"]);
  expect(complete(root.path, ["status", ""])).toEqual(["done-one"]);
  expect(complete(root.path, ["list", ""])).toEqual([]);
}, 30_000);

test("an unknown shell is a usage error", async () => {
  const r = await sessions(["completion", "tcsh"]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("use bash or zsh");
});
