/**
 * bun run build → dist/sessions: one executable for this machine with the built-in pipelines/
 * library embedded, then a smoke test of what was built (version, help, the library, start-up time).
 *
 * bun run release (bun build.ts --release) → dist/release/: sessions-<os>-<arch> for every target,
 * a .tar.gz of each, get-sessions and SHA256SUMS. Bun cross-compiles by fetching the target's
 * runtime from the npm registry (@oven/bun-<os>-<arch>, cached in ~/.bun/install/cache;
 * BUN_COMPILE_TARGET_TARBALL_URL points it elsewhere). Never strip a Bun binary: that breaks it.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import pkg from "./package.json";
import { binaryFormat, formatName } from "./test/release/binfmt.ts";

export const version = pkg.version;
export const RELEASE_DIR = "dist/release";
/** Release name → Bun compile target. */
export const TARGETS = {
  "linux-x64": "bun-linux-x64",
  "linux-arm64": "bun-linux-arm64",
  "linux-x64-musl": "bun-linux-x64-musl",
  "darwin-x64": "bun-darwin-x64",
  "darwin-arm64": "bun-darwin-arm64",
} as const;
export type Target = keyof typeof TARGETS;
/** The install script users commit; shipped next to the archives. */
export const INSTALL_SCRIPT = "scripts/get-sessions";

const hostTarget = `${process.platform}-${process.arch}`;
const commit = (() => {
  const r = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"]);
  return r.exitCode === 0 ? r.stdout.toString().trim() : "unknown";
})();
// The commit's date, not the clock: the same commit builds the same version document.
const buildDate = (() => {
  const r = Bun.spawnSync(["git", "log", "-1", "--format=%cI", "HEAD"]);
  return r.exitCode === 0 ? new Date(r.stdout.toString().trim()).toISOString() : new Date().toISOString();
})();

async function compile(outfile: string, name: string, target?: (typeof TARGETS)[Target]): Promise<void> {
  const result = await Bun.build({
    entrypoints: ["src/cli.ts"],
    compile: { outfile, ...(target && { target }), autoloadDotenv: false, autoloadBunfig: false },
    minify: true,
    bytecode: true,
    // Chunks load only when a verb imports them: --version must not parse the whole bundle.
    splitting: true,
    format: "esm",
    sourcemap: "none",
    define: {
      SESSIONS_VERSION: JSON.stringify(version),
      SESSIONS_COMMIT: JSON.stringify(commit),
      SESSIONS_BUILD_DATE: JSON.stringify(buildDate),
      SESSIONS_TARGET: JSON.stringify(name),
    },
  });
  if (!result.success) {
    for (const l of result.logs) console.error(l);
    fail(`compiling ${name} failed`);
  }
}

function fail(msg: string): never {
  console.error(`build check: ${msg}`);
  process.exit(1);
}

const run = (argv: string[]) => Bun.spawnSync(argv, { env: { ...process.env, NO_COLOR: "1" } });

/** The smoke test of a binary this machine can run (directly, or through qemu: `prefix`). */
function smoke(bin: string, name: string, prefix: string[] = []): void {
  const v = run([...prefix, bin, "--version"]);
  if (v.stdout.toString().trim() !== version) fail(`${bin} --version printed ${JSON.stringify(v.stdout.toString())}, expected ${version}`);
  const vj = run([...prefix, bin, "--version", "--json"]);
  const info = JSON.parse(vj.stdout.toString() || "{}");
  if (info.target !== name || info.commit !== commit) fail(`${bin} --version --json printed ${vj.stdout.toString()}`);
  if (run([...prefix, bin, "--help"]).exitCode !== 0) fail(`${bin} --help failed`);
  const stages = run([...prefix, bin, "stages", "--json", "--root", "/"]);
  if (stages.exitCode !== 0 || !stages.stdout.toString().includes('"demo"')) fail(`${bin}: the built-in library is not embedded: ${stages.stderr.toString()}`);
}

/** A piece of each built-in library file that must appear verbatim in a binary: the longest run of text the bundle does not escape. */
function libraryMarkers(): string[] {
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : /\.(md|yaml)$/.test(e.name) ? [join(dir, e.name)] : []));
  return files("pipelines").map((f) => {
    const runs = readFileSync(f, "utf8").split(/[^\x20-\x7e]|["'`$\\{}]/);
    const longest = runs.sort((a, b) => b.length - a.length)[0]!;
    if (longest.length < 20) fail(`${f} has no text to look for in the binaries`);
    return longest;
  });
}

/** What the release checks in each binary: its header, and that the library and this build's version are inside. */
function checkContents(path: string, name: Target, markers: string[]): void {
  const bytes = readFileSync(path);
  const format = binaryFormat(bytes.subarray(0, 65536));
  if (!format || formatName(format) !== name) fail(`${path} is ${format ? formatName(format) : "not an executable"}, expected ${name}`);
  // A bundled source with any non-Latin-1 character is stored as UTF-16.
  for (const m of [JSON.stringify(version), JSON.stringify(buildDate), ...markers]) {
    if (!bytes.includes(m, 0, "latin1") && !bytes.includes(m, 0, "utf16le")) fail(`${path} does not contain ${JSON.stringify(m)}`);
  }
}

/** How to run a linux-arm64 binary on another Linux: qemu-user plus an arm64 loader (libc6-arm64-cross or multiarch libc6:arm64), or null. */
function qemuArm64(): string[] | null {
  const qemu = Bun.which("qemu-aarch64") ?? Bun.which("qemu-aarch64-static");
  if (!qemu) return null;
  if (existsSync("/lib/ld-linux-aarch64.so.1")) return [qemu];
  if (existsSync("/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1")) return [qemu, "-L", "/usr/aarch64-linux-gnu"];
  return null;
}

async function sha256(path: string): Promise<string> {
  return new Bun.CryptoHasher("sha256").update(await Bun.file(path).arrayBuffer()).digest("hex");
}

async function release(): Promise<void> {
  const t0 = performance.now();
  rmSync(RELEASE_DIR, { recursive: true, force: true });
  mkdirSync(RELEASE_DIR, { recursive: true });
  const markers = libraryMarkers();
  const shipped: string[] = [];
  for (const [name, target] of Object.entries(TARGETS) as [Target, (typeof TARGETS)[Target]][]) {
    const bin = `sessions-${name}`;
    const path = join(RELEASE_DIR, bin);
    await compile(path, name, target);
    checkContents(path, name, markers);
    let ran = "";
    const qemu = name === "linux-arm64" && hostTarget === "linux-x64" ? qemuArm64() : null;
    if (name === hostTarget) {
      smoke(path, name);
      ran = ", ran it";
    } else if (qemu) {
      smoke(path, name, qemu);
      ran = ", ran it under qemu";
    } else if (name === "linux-arm64" && hostTarget === "linux-x64") {
      ran = ", not run (for that: apt-get install qemu-user-static libc6-arm64-cross)";
    }
    // COPYFILE_DISABLE: macOS tar would add AppleDouble ._ entries for extended attributes.
    const archive = Bun.spawnSync(["tar", "-czf", `${bin}.tar.gz`, bin], { cwd: RELEASE_DIR, env: { ...process.env, COPYFILE_DISABLE: "1" } });
    if (archive.exitCode !== 0) fail(`tar ${bin}: ${archive.stderr.toString()}`);
    shipped.push(`${bin}.tar.gz`);
    const mb = (p: string) => (Bun.file(p).size / 1e6).toFixed(0);
    console.error(`${bin}: ${mb(path)} MB, ${mb(`${path}.tar.gz`)} MB archived${ran}`);
  }
  copyFileSync(INSTALL_SCRIPT, join(RELEASE_DIR, "get-sessions"));
  shipped.push("get-sessions");
  const sums = await Promise.all(shipped.map(async (f) => `${await sha256(join(RELEASE_DIR, f))}  ${f}\n`));
  await Bun.write(join(RELEASE_DIR, "SHA256SUMS"), sums.join(""));
  console.error(`released ${version} (${commit}) to ${RELEASE_DIR} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

async function build(): Promise<void> {
  const outfile = "dist/sessions";
  await compile(outfile, hostTarget);
  smoke(outfile, hostTarget);
  const t0 = performance.now();
  for (let i = 0; i < 5; i++) run([outfile, "--version"]);
  const size = Bun.file(outfile).size;
  console.error(`built ${outfile} ${version} (${(size / 1e6).toFixed(0)} MB), --version ${((performance.now() - t0) / 5).toFixed(1)} ms`);
}

if (import.meta.main) await (process.argv.includes("--release") ? release() : build());
