// The agent CLI versions the real-agent tests run against: .ci/run installs exactly these, doctor and
// `--version --json` report them. One owner, so CI, docs and the binary cannot disagree.
export const TESTED_AGENTS = {
  claude: { package: "@anthropic-ai/claude-code", version: "2.1.332" },
  codex: { package: "@openai/codex", version: "0.171.0" },
} as const;
