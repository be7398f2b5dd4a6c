/** Definition trees for the lint tests: one problem of each kind, each at a known file, line and field. */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

export function writeTree(root: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    const p = join(root, ".claude", "pipelines", rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
}

const ok = "provider: command\ncommand: agent --go\ntermination:\n  type: fixed\n  max: 2\n";
const prompt = "Work, then write ${STATUS}.\n";

/** A stage that is fine, for pipelines to use. */
export const GOOD = { "stages/good/stage.yaml": ok, "stages/good/prompt.md": prompt };

/** Every error class, one definition each. */
export const BROKEN: Record<string, string> = {
  ...GOOD,
  // unknown field (a typo), line 5
  "stages/typo/stage.yaml": "provider: command\ncommand: agent\ntermination:\n  type: fixed\n  maxx: 3\n",
  "stages/typo/prompt.md": prompt,
  // YAML syntax error, line 4
  "stages/badyaml/stage.yaml": "termination:\n  type: fixed\n  max: 2\n bad: [1, 2\n",
  "stages/badyaml/prompt.md": prompt,
  // unknown template variable, prompt.md line 3
  "stages/badvar/stage.yaml": ok,
  "stages/badvar/prompt.md": "Hello.\n\nRead ${CTX} and ${BOGUS}.\nEscaped $${ALSO_FINE}.\n",
  // no prompt.md
  "stages/noprompt/stage.yaml": ok,
  // consensus on a fixed stage, line 5
  "stages/badterm/stage.yaml": "provider: command\ncommand: agent\ntermination:\n  type: fixed\n  consensus: 2\n",
  "stages/badterm/prompt.md": prompt,
  // a provider that does not exist, line 2
  "stages/badprov/stage.yaml": "description: uses gemini\nprovider: gemini\n",
  "stages/badprov/prompt.md": prompt,
  // a queue without a command: hint only
  "stages/queue/stage.yaml": "provider: command\ncommand: agent\ntermination:\n  type: queue\n  max: 5\n",
  "stages/queue/prompt.md": prompt,
  // unknown stage, line 4
  "unknown-stage.yaml": "name: unknown-stage\nnodes:\n  - id: a\n    stage: nope\n",
  // duplicate node id, line 6
  "dup.yaml": "nodes:\n  - id: a\n    stage: good\n  - id: b\n    stage: good\n  - id: a\n    stage: good\n",
  // input from a later node (line 5) and from an unknown node (line 9)
  "order.yaml": "nodes:\n  - id: a\n    stage: good\n    inputs:\n      from: b\n  - id: b\n    stage: good\n    inputs:\n      from: ghost\n",
  // from_parallel naming no block stage, line 10
  "fromparallel.yaml":
    "nodes:\n  - id: block\n    parallel:\n      providers: [claude, codex]\n      stages: [ { id: review, stage: good } ]\n  - id: after\n    stage: good\n    inputs:\n      from_parallel:\n        stage: nothing\n        block: block\n",
  // unknown field in a node (typo), line 4
  "nodetypo.yaml": "nodes:\n  - id: a\n    stage: good\n    runz: 3\n",
  // node termination field that does not fit the stage's type, line 6
  "nodeterm.yaml": "nodes:\n  - id: a\n    stage: good\n    termination:\n      max: 3\n      min_iterations: 2\n",
  // unknown provider in a parallel block, line 4
  "badblock.yaml": "nodes:\n  - id: block\n    parallel:\n      providers: [claude, gemini]\n      stages: [ { id: review, stage: good } ]\n",
  // uses a broken stage: one error at the node, line 3
  "uses-broken.yaml": "nodes:\n  - id: a\n    stage: badvar\n",
};

/** The bash tool's spellings: they load with hints only. */
export const LEGACY: Record<string, string> = {
  "stages/work/stage.yaml": "# Work stage\nname: work\ndescription: Implement tasks from the queue until done\ncompletion: beads-empty\ncheck_before: true\ndelay: 3\n",
  "stages/work/prompt.md": "Session ${SESSION}, iteration ${INDEX}.\nRead ${PROGRESS_FILE}; write ${OUTPUT_PATH}.\nThen write ${RESULT}.\n",
  "stages/plan/stage.yaml": "name: plan\ndescription: Plan\ntermination:\n  type: fixed\n  iterations: 3\n",
  "stages/plan/prompt.md": prompt,
  "old.yaml":
    "# Refine pipeline\nname: old\ndescription: plan, then work\n\nstages:\n  - name: plan\n    stage: plan\n    runs: 5\n\n  - name: work\n    loop: work\n    runs: 5\n    inputs:\n      from: plan\n      select: latest\n",
};

/** A cross-evaluation pipeline in the bash tool's shape: propose, cross-rate, answer the other's critique, merge (every agent `command: agent`). */
export const CROSS = [
  "name: cross",
  "nodes:",
  "  - id: ideas",
  "    parallel:",
  "      isolation: none",
  "      providers: [ { name: claude, provider: command, command: agent }, { name: codex, provider: command, command: agent } ]",
  "      stages: [ { id: generate, stage: s } ]",
  "  - id: evaluate",
  "    parallel:",
  "      isolation: none",
  "      providers:",
  "        - name: claude",
  "          provider: command",
  "          command: agent",
  "          inputs:",
  "            from_parallel: { stage: generate, providers: [codex] }",
  "        - name: codex",
  "          provider: command",
  "          command: agent",
  "          inputs:",
  "            from_parallel: { stage: generate, providers: [claude] }",
  "      stages: [ { id: rate, stage: s } ]",
  "  - id: respond",
  "    parallel:",
  "      isolation: none",
  "      providers:",
  "        - name: claude",
  "          provider: command",
  "          command: agent",
  "          inputs:",
  "            from_parallel:",
  "              - { stage: generate, providers: [claude] }",
  "              - { stage: rate, providers: [codex] }",
  "        - name: codex",
  "          provider: command",
  "          command: agent",
  "          inputs:",
  "            from_parallel:",
  "              - ideas/generate",
  "              - { stage: rate, block: evaluate, providers: [claude], select: history }",
  "      stages: [ { id: answer, stage: s } ]",
  "  - id: merge",
  "    parallel:",
  "      isolation: none",
  "      providers: [ { id: judge, provider: command, command: agent } ]",
  "      stages: [ { id: synth, stage: s } ]",
  "    inputs:",
  "      from_parallel: [ answer, { stage: rate } ]",
  "",
].join("\n");
