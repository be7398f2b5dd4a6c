/**
 * The real Claude Code and Codex CLIs for e2e tests: where .ci/run installed them, and the
 * environment that points them at a fake model server on 127.0.0.1 with a throwaway HOME.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { TESTED_AGENTS } from "../../src/lib/tested-agents.ts";

export type AgentName = keyof typeof TESTED_AGENTS;

/** .ci/run sets SESSIONS_TEST_AGENTS_DIR; the default is the same cache folder. */
export const AGENTS_DIR = process.env.SESSIONS_TEST_AGENTS_DIR || join(homedir(), ".cache", "sessions-agents");

/** `<dir>/<name>@<version>/node_modules/.bin/<name>`: one npm prefix per pinned version. */
export function agentBin(name: AgentName): string {
  return join(AGENTS_DIR, `${name}@${TESTED_AGENTS[name].version}`, "node_modules", ".bin", name);
}

/** In CI (or when .ci/run said where they are) a missing CLI fails the tests; locally they are skipped. */
export const AGENTS_REQUIRED = process.env.CI === "true" || !!process.env.SESSIONS_TEST_AGENTS_DIR;

export function missingAgents(): string[] {
  return (Object.keys(TESTED_AGENTS) as AgentName[]).filter((n) => !existsSync(agentBin(n))).map((n) => `${TESTED_AGENTS[n].package}@${TESTED_AGENTS[n].version} (${agentBin(n)})`);
}

/** The model codex is configured with: one it ships with, so it offers apply_patch. */
export const CODEX_MODEL = "gpt-5.5";

/**
 * A throwaway HOME (and CODEX_HOME) whose CLIs talk only to the given servers, without retries,
 * update checks or telemetry; the environment for `sessions` that passes it on to the agents.
 */
export function agentHome(servers: { anthropic?: string; openai?: string }) {
  const home = mkdtempSync(join(tmpdir(), "sessions-agent-home-"));
  const codexHome = join(home, ".codex");
  mkdirSync(codexHome);
  if (servers.openai) {
    writeFileSync(
      join(codexHome, "config.toml"),
      [
        'model_provider = "fake"',
        `model = "${CODEX_MODEL}"`,
        "check_for_update_on_startup = false",
        "[analytics]",
        "enabled = false",
        "[features]",
        "plugins = false",
        "remote_plugin = false",
        "apps = false",
        "unbounded_connection_retries = false",
        "[model_providers.fake]",
        'name = "fake"',
        `base_url = "${servers.openai}/v1"`,
        'wire_api = "responses"',
        'env_key = "FAKE_OPENAI_KEY"',
        "request_max_retries = 0",
        "stream_max_retries = 0",
        "",
      ].join("\n"),
    );
  }
  const env: Record<string, string> = {
    HOME: home,
    SESSIONS_CLAUDE_BIN: agentBin("claude"),
    SESSIONS_CODEX_BIN: agentBin("codex"),
    IS_SANDBOX: "1",
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    CLAUDE_CODE_MAX_RETRIES: "0",
    ANTHROPIC_API_KEY: "test-key",
    ANTHROPIC_BASE_URL: servers.anthropic ?? "http://127.0.0.1:9",
    CODEX_HOME: codexHome,
    FAKE_OPENAI_KEY: "test-key",
  };
  return {
    env,
    [Symbol.dispose]() {
      rmSync(home, { recursive: true, force: true });
    },
  };
}
