/**
 * bun run build → dist/sessions: one executable with the built-in pipelines/ library embedded,
 * then a smoke test of what was built (version, help, the library lints, start-up time).
 */
import pkg from "./package.json";

const version = pkg.version;
const outfile = "dist/sessions";

const result = await Bun.build({
  entrypoints: ["src/cli.ts"],
  compile: { outfile, autoloadDotenv: false, autoloadBunfig: false },
  minify: true,
  bytecode: true,
  // Chunks load only when a verb imports them: --version must not parse the whole bundle.
  splitting: true,
  format: "esm",
  sourcemap: "none",
  define: { SESSIONS_VERSION: JSON.stringify(version) },
});
if (!result.success) {
  for (const l of result.logs) console.error(l);
  process.exit(1);
}

const run = (args: string[]) => Bun.spawnSync([outfile, ...args], { env: { ...process.env, NO_COLOR: "1" } });
const v = run(["--version"]);
if (v.stdout.toString().trim() !== version) {
  console.error(`build check: --version printed ${JSON.stringify(v.stdout.toString())}, expected ${version}`);
  process.exit(1);
}
if (run(["--help"]).exitCode !== 0) {
  console.error("build check: --help failed");
  process.exit(1);
}
const stages = run(["stages", "--json", "--root", "/"]);
if (stages.exitCode !== 0 || !stages.stdout.toString().includes('"demo"')) {
  console.error(`build check: the built-in library is not embedded: ${stages.stderr.toString()}`);
  process.exit(1);
}
const t0 = performance.now();
for (let i = 0; i < 5; i++) run(["--version"]);
const size = Bun.file(outfile).size;
console.error(`built ${outfile} ${version} (${(size / 1e6).toFixed(0)} MB), --version ${((performance.now() - t0) / 5).toFixed(1)} ms`);
