/**
 * bun run test:release: what `bun run release` left in dist/release (it runs first; too slow for
 * every unit run). Every target with the right header, archives matching SHA256SUMS, and the host's
 * binary, installed by get-sessions from a local server, runs the demo.
 */
import { afterAll, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { RELEASE_DIR, TARGETS, version } from "../../build.ts";
import { cleanEnv, REPO, tempRoot } from "../helpers.ts";
import { binaryFormat, formatName } from "./binfmt.ts";

const dir = join(REPO, RELEASE_DIR);
const names = Object.keys(TARGETS);
const sha256 = (path: string) => new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex");

test("every target is there, and its header says the platform it is named after", async () => {
  for (const name of names) {
    const head = new Uint8Array(await Bun.file(join(dir, `sessions-${name}`)).slice(0, 65536).arrayBuffer());
    const f = binaryFormat(head);
    expect(f && formatName(f)).toBe(name);
  }
});

test("SHA256SUMS lists each archive and get-sessions with its hash; each archive holds its binary, unchanged", () => {
  const sums = readFileSync(join(dir, "SHA256SUMS"), "utf8").trim().split("\n").map((l) => l.split("  "));
  expect(sums.map(([, f]) => f).sort()).toEqual([...names.map((n) => `sessions-${n}.tar.gz`), "get-sessions"].sort());
  for (const [hash, file] of sums) expect(sha256(join(dir, file!))).toBe(hash!);
  expect(readdirSync(dir).sort()).toEqual([...names.flatMap((n) => [`sessions-${n}`, `sessions-${n}.tar.gz`]), "get-sessions", "SHA256SUMS"].sort());
  using tmp = tempRoot({ git: false });
  for (const name of names) {
    const x = Bun.spawnSync(["tar", "-xzf", join(dir, `sessions-${name}.tar.gz`), "-C", tmp.path]);
    expect(x.exitCode).toBe(0);
    expect(readdirSync(tmp.path)).toContain(`sessions-${name}`);
    expect(sha256(join(tmp.path, `sessions-${name}`))).toBe(sha256(join(dir, `sessions-${name}`)));
  }
}, 60_000);

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch(req) {
    const path = new URL(req.url).pathname;
    const file = path.startsWith(`/v${version}/`) ? join(dir, path.slice(`/v${version}/`.length)) : "";
    return file && existsSync(file) ? new Response(Bun.file(file)) : new Response("not found", { status: 404 });
  },
});
afterAll(() => server.stop(true));

test("get-sessions installs this machine's binary from the release, and it runs the demo to completion", async () => {
  using project = tempRoot();
  mkdirSync(join(project.path, "scripts"));
  copyFileSync(join(dir, "get-sessions"), join(project.path, "scripts", "get-sessions"));
  const env = cleanEnv({ SESSIONS_RELEASE_URL: `http://127.0.0.1:${server.port}` });
  const get = Bun.spawn(["sh", "scripts/get-sessions"], { cwd: project.path, env, stderr: "pipe" });
  const [err, code] = await Promise.all([new Response(get.stderr).text(), get.exited]);
  expect(err).toContain(`installed sessions ${version}`);
  expect(code).toBe(0);
  const bin = join(project.path, "scripts", "sessions");
  const p = Bun.spawn([bin, "start", "demo", "--foreground", "--json"], { cwd: project.path, env, stdout: "pipe", stderr: "pipe" });
  const [out, , exit] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  expect(JSON.parse(out)).toMatchObject({ session: "demo", status: "complete", iteration_completed: 3 });
  expect(exit).toBe(0);
}, 60_000);
