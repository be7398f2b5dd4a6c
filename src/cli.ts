/**
 * Entry point. `--version` answers before anything is imported (start-up time is a budget);
 * every verb is loaded lazily; only this file turns errors into output and exit codes.
 */
declare const SESSIONS_VERSION: string | undefined;
export {};

const argv = process.argv.slice(2);
const version = typeof SESSIONS_VERSION === "string" ? SESSIONS_VERSION : "dev";

if (argv[0] === "--version" || argv[0] === "-v" || argv[0] === "version") {
  if (argv.includes("--json")) {
    // Only the JSON form imports anything: plain --version stays import-free.
    const { buildInfo } = await import("./lib/build-info.ts");
    console.log(JSON.stringify(buildInfo(version)));
  } else {
    // console.log, not process.stdout: creating the stdout stream costs more than the rest of
    // start-up, and console.log ends quietly on a closed stdout (`| true`).
    console.log(version);
  }
} else {
  process.env.SESSIONS_VERSION ??= version;
  const { main } = await import("./main.ts");
  process.exitCode = await main(argv, version);
}
