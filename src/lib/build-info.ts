/**
 * `sessions --version --json`: what this binary is. build.ts defines the constants; a development
 * run (`bun src/cli.ts`) has none of them.
 */
import { TESTED_AGENTS } from "./tested-agents.ts";

declare const SESSIONS_COMMIT: string | undefined;
declare const SESSIONS_BUILD_DATE: string | undefined;
declare const SESSIONS_TARGET: string | undefined;

export function buildInfo(version: string) {
  return {
    version,
    commit: typeof SESSIONS_COMMIT === "string" ? SESSIONS_COMMIT : null,
    build_date: typeof SESSIONS_BUILD_DATE === "string" ? SESSIONS_BUILD_DATE : null,
    target: typeof SESSIONS_TARGET === "string" ? SESSIONS_TARGET : `${process.platform}-${process.arch}`,
    tested_agents: TESTED_AGENTS,
  };
}
