/** Codex reasoning effort and the bash tool's model spellings, from the definition to the agent's argv. */
import { expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Diagnostic } from "../../../src/defs/diagnostics.ts";
import { findTarget } from "../../../src/defs/find.ts";
import type { StagePlan } from "../../../src/defs/plan.ts";
import { buildPlan } from "../../../src/defs/resolve.ts";
import { codex } from "../../../src/engine/providers/codex.ts";
import { claude } from "../../../src/engine/providers/claude.ts";
import { runPaths } from "../../../src/store/paths.ts";
import { providerStageRun } from "../../../src/engine/view.ts";
import { tempRoot } from "../../helpers.ts";
import { writeTree } from "../defs/fixtures.ts";

const vars = { CTX: "/c.json", STATUS: "/s.json", PROGRESS: "/p.md", OUTPUT: "/o.md", ITERATION: "1", INDEX: "0", SESSION_NAME: "x", CONTEXT: "", INPUTS: "" };
const PROMPT = "Write ${STATUS}.\n";

function plan(files: Record<string, string>, target: string) {
  using root = tempRoot({ git: false });
  writeTree(root.path, files);
  const out: Diagnostic[] = [];
  const p = buildPlan(root.path, findTarget(root.path, target), { session: "x" }, out);
  return { plan: p, out, root: root.path };
}

const stage = (yaml: string) => ({ "stages/s/stage.yaml": yaml, "stages/s/prompt.md": PROMPT });

test("model: gpt-5.2-codex:xhigh becomes -m gpt-5.2-codex -c model_reasoning_effort=\"xhigh\"", () => {
  const { plan: p, out } = plan(stage("provider: codex\nmodel: gpt-5.2-codex:xhigh\n"), "s");
  expect(out.filter((d) => d.level !== "hint")).toEqual([]);
  const node = p!.nodes[0] as StagePlan;
  expect(node.provider).toMatchObject({ model: "gpt-5.2-codex", effort: "xhigh" });
  expect(codex.argv(node.provider, vars)).toEqual([
    "codex", "exec", "--dangerously-bypass-approvals-and-sandbox", "--skip-git-repo-check", "--json", "--color", "never", "-m", "gpt-5.2-codex", "-c", 'model_reasoning_effort="xhigh"', "-",
  ]);
});

test("effort: beside model on a node; a node's model:effort beats the stage's effort; a local model's tag passes through", () => {
  const files = {
    ...stage("provider: codex\neffort: low\n"),
    "p.yaml": "nodes:\n  - { id: a, stage: s, model: gpt-5.5, effort: high }\n  - { id: b, stage: s, model: 'gpt-5.5:medium' }\n  - { id: c, stage: s, model: 'gpt-oss:20b' }\n",
  };
  const { plan: p, out } = plan(files, "p");
  expect(out.filter((d) => d.level !== "hint")).toEqual([]);
  expect(p!.nodes.map((n) => (n as StagePlan).provider)).toMatchObject([
    { model: "gpt-5.5", effort: "high" },
    { model: "gpt-5.5", effort: "medium" },
    { model: "gpt-oss:20b", effort: "low" },
  ]);
});

test("an unknown effort is a lint error at its line, in a model suffix or an effort field", () => {
  const files = { ...stage("provider: codex\n"), "p.yaml": "nodes:\n  - id: a\n    stage: s\n    model: gpt-5.5:xhihg\n  - id: b\n    stage: s\n    effort: max\n" };
  const { out } = plan(files, "p");
  expect(out.filter((d) => d.level === "error").toSorted((a, b) => a.line! - b.line!)).toEqual([
    expect.objectContaining({ line: 4, field: "nodes[0].model", message: "unknown reasoning effort xhihg in model gpt-5.5:xhihg (expected minimal, low, medium, high, xhigh)" }),
    expect.objectContaining({ line: 7, field: "nodes[1].effort", message: expect.stringContaining("expected minimal, low, medium, high, xhigh") }),
  ]);
});

test("the bash tool's claude spellings map to the CLI's aliases, with a hint; full ids pass through", () => {
  const spellings = { opus: "opus", "claude-opus": "opus", "opus-4": "opus", "opus-4.5": "opus", sonnet: "sonnet", "claude-sonnet": "sonnet", "sonnet-4": "sonnet", haiku: "haiku", "claude-haiku": "haiku", "claude-opus-4-5-20251101": "claude-opus-4-5-20251101" };
  const names = Object.keys(spellings);
  const files = { ...stage("provider: claude\n"), "p.yaml": "nodes:\n" + names.map((m, i) => `  - { id: n${i}, stage: s, model: ${m} }\n`).join("") };
  const { plan: p, out } = plan(files, "p");
  expect(out.filter((d) => d.level !== "hint")).toEqual([]);
  expect(p!.nodes.map((n) => (n as StagePlan).provider.model)).toEqual(Object.values(spellings));
  expect(out.find((d) => d.line === 5)).toMatchObject({ level: "hint", field: "nodes[3].model", message: "model opus-4.5 is the bash tool's spelling: the claude CLI calls it opus" });
  expect(out.filter((d) => d.level === "hint")).toHaveLength(6);
  expect(claude.argv((p!.nodes[3] as StagePlan).provider, vars).slice(-2)).toEqual(["--model", "opus"]);
});

test("in a parallel block a stage's model is spelled for each provider that falls back on it", () => {
  const files = {
    ...stage("termination: { type: fixed, max: 1 }\n"),
    "p.yaml": "nodes:\n  - id: b\n    parallel:\n      providers: [claude, codex, { id: own, provider: codex, model: gpt-5.5 }]\n      stages: [ { id: r, stage: s, model: 'claude-sonnet' } ]\n  - id: c\n    parallel:\n      providers: [codex]\n      stages: [ { id: r, stage: s, model: 'gpt-5.5:high' } ]\n",
  };
  const { plan: p, root } = plan(files, "p");
  const paths = runPaths(root, "x");
  const prov = (node: number, i: number) => providerStageRun(p!, paths, 1, node, i, 0, root).provider.plan;
  expect(prov(0, 0)).toMatchObject({ name: "claude", model: "sonnet" });
  expect(prov(0, 1)).toMatchObject({ name: "codex", model: "claude-sonnet" });
  expect(prov(0, 2)).toMatchObject({ name: "codex", model: "gpt-5.5" });
  expect(prov(1, 0)).toMatchObject({ name: "codex", model: "gpt-5.5", effort: "high" });
});

/** The real codex CLI, if this machine has one (PATH, $SESSIONS_CODEX_BIN, or the real-CLI harness's cache). */
function realCodex(): string | null {
  const given = process.env.SESSIONS_CODEX_BIN ?? Bun.which("codex");
  if (given && existsSync(given)) return given;
  const cache = join(homedir(), ".cache", "sessions-agents");
  try {
    for (const d of readdirSync(cache).filter((n) => n.startsWith("codex@")).sort().reverse()) {
      const bin = join(cache, d, "node_modules", ".bin", "codex");
      if (existsSync(bin)) return bin;
    }
  } catch {}
  return null;
}

const real = realCodex();
test.skipIf(!real)("every flag of the codex argv is one the real `codex exec --help` documents, -c taking key=value", () => {
  const help = Bun.spawnSync([real!, "exec", "--help"]).stdout.toString();
  const argv = codex.argv({ name: "codex", model: "gpt-5.2-codex", effort: "xhigh", command: null, bin: real }, vars);
  for (const flag of argv.filter((a) => a.startsWith("-") && a !== "-")) expect(help).toMatch(new RegExp(`(^|[\\s,])${flag}[\\s,]`, "m"));
  expect(help).toContain("-c, --config <key=value>");
  expect(help).toContain("[PROMPT]");
  expect(argv.slice(-4)).toEqual(["gpt-5.2-codex", "-c", 'model_reasoning_effort="xhigh"', "-"]);
});
