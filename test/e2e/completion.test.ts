/** Shell completion through the real script in bash, with the binary answering `_complete`. */
import { expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, cleanEnv, fakeStage, sessions, tempRoot } from "../helpers.ts";

function complete(root: string, words: string[], bin = BIN): string[] {
  const script = `eval "$(${BIN} completion bash)"; COMP_WORDS=(${[bin, ...words].map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length}; _sessions; printf '%s\\n' "\${COMPREPLY[@]}"`;
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

test("completion never runs or globs what a file name holds", async () => {
  using root = tempRoot();
  mkdirSync(join(root.path, ".claude", "pipelines"), { recursive: true });
  writeFileSync(join(root.path, ".claude", "pipelines", "$(touch x).yaml"), "name: evil\nnodes: []\n");
  writeFileSync(join(root.path, ".claude", "pipelines", "`touch y`.yaml"), "name: evil\nnodes: []\n");
  expect(complete(root.path, ["start", ""])).not.toContainEqual(expect.stringContaining("touch"));
  expect(complete(root.path, ["start", "$"])).toEqual([]);
  expect(existsSync(join(root.path, "x"))).toBe(false);
  expect(existsSync(join(root.path, "y"))).toBe(false);

  // The script itself, whatever the binary answers: words are taken literally and quoted for the line.
  const fake = join(root.path, "fake-sessions");
  writeFileSync(fake, "#!/bin/sh\nprintf '%s\\n' '$(touch z)' '*' 'a b' 'ok'\n");
  chmodSync(fake, 0o755);
  expect(complete(root.path, ["status", ""], fake)).toEqual(["\\$\\(touch\\ z\\)", "\\*", "a\\ b", "ok"]);
  expect(complete(root.path, ["status", "$("], fake)).toEqual(["\\$\\(touch\\ z\\)"]);
  expect(existsSync(join(root.path, "z"))).toBe(false);
});

test("an unknown shell is a usage error", async () => {
  const r = await sessions(["completion", "tcsh"]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("use bash or zsh");
});
