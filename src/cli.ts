/**
 * Entry point. `--version` answers before anything is imported (start-up time is a budget);
 * every verb is loaded lazily; only this file turns errors into output and exit codes.
 */
declare const SESSIONS_VERSION: string | undefined;
import { writeSync } from "node:fs";

const argv = process.argv.slice(2);
const version = typeof SESSIONS_VERSION === "string" ? SESSIONS_VERSION : "dev";

if (argv[0] === "--version" || argv[0] === "-v" || argv[0] === "version") {
  // Synchronous, so a closed stdout (`| true`) throws here and ends quietly; every other command
  // writes through lib/output.ts, which handles EPIPE the same way.
  try {
    writeSync(1, `${version}\n`);
  } catch {}
} else {
  process.env.SESSIONS_VERSION ??= version;
  const { main } = await import("./main.ts");
  process.exitCode = await main(argv, version);
}
