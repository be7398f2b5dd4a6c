/** What a user who downloaded the binary relies on: the version document, and the skill calling the binary where it lives. */
import { describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../package.json";
import { TESTED_AGENTS } from "../../src/lib/tested-agents.ts";
import { BIN, cleanEnv, sessions, tempRoot } from "../helpers.ts";

describe("version", () => {
  test("--version prints the bare version; --version --json and version --json the build document", async () => {
    const plain = await sessions(["--version"]);
    expect(plain.stdout).toBe(`${pkg.version}\n`);
    const commit = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"]).stdout.toString().trim();
    for (const args of [["--version", "--json"], ["version", "--json"]]) {
      const r = await sessions(args);
      expect(r.json()).toEqual({
        version: pkg.version,
        commit,
        build_date: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        target: `${process.platform}-${process.arch}`,
        tested_agents: TESTED_AGENTS,
      });
      expect(r.code).toBe(0);
    }
  });
});

describe("skill", () => {
  test("install run as <root>/scripts/sessions tells the agent to run ./scripts/sessions; from elsewhere, the absolute path", async () => {
    using root = tempRoot({ git: false });
    mkdirSync(join(root.path, "scripts"));
    const local = join(root.path, "scripts", "sessions");
    copyFileSync(BIN, local);
    const p = Bun.spawnSync([local, "skill", "install", "--json", "--root", root.path], { env: cleanEnv() });
    const path = join(root.path, ".claude", "skills", "sessions", "SKILL.md");
    expect(JSON.parse(p.stdout.toString())).toEqual({ path, written: true });
    expect(readFileSync(path, "utf8")).toContain("Run the binary as `./scripts/sessions`");
    using other = tempRoot({ git: false });
    const elsewhere = await sessions(["skill", "--root", other.path]);
    expect(elsewhere.stdout).toContain(`Run the binary as \`${BIN}\``);
  }, 30_000);
});
