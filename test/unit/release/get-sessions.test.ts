/** scripts/get-sessions, the install script users commit: against a stub release server on 127.0.0.1. */
import { afterAll, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../../package.json";
import { REPO, cleanEnv, tempRoot } from "../../helpers.ts";

const SCRIPT = join(REPO, "scripts", "get-sessions");
const name = `sessions-${process.platform}-${process.arch}`;
// What the server answers per file name; each test sets it.
let files: Record<string, Uint8Array> = {};
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch(req) {
    const path = new URL(req.url).pathname;
    const body = path.startsWith(`/v${pkg.version}/`) ? files[path.slice(`/v${pkg.version}/`.length)] : undefined;
    return body ? new Response(body) : new Response("not found", { status: 404 });
  },
});
afterAll(() => server.stop(true));

const sha256 = (b: Uint8Array) => new Bun.CryptoHasher("sha256").update(b).digest("hex");

/** A release archive holding a stand-in binary, as `bun run release` lays it out. */
function archive(dir: string, text: string): Uint8Array {
  const bin = join(dir, name);
  writeFileSync(bin, `#!/bin/sh\necho ${text}\n`, { mode: 0o755 });
  const tar = Bun.spawnSync(["tar", "-czf", "-", name], { cwd: dir });
  expect(tar.exitCode).toBe(0);
  return tar.stdout;
}

async function getSessions(project: string) {
  mkdirSync(join(project, "scripts"), { recursive: true });
  copyFileSync(SCRIPT, join(project, "scripts", "get-sessions"));
  const p = Bun.spawn(["sh", join(project, "scripts", "get-sessions")], {
    env: cleanEnv({ SESSIONS_RELEASE_URL: `http://127.0.0.1:${server.port}` }),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
  return { stderr, code };
}

test("pins the version in package.json; the README's Install section downloads from the same release page", () => {
  const script = readFileSync(SCRIPT, "utf8");
  expect(script).toContain(`\nversion=${pkg.version}\n`);
  const base = script.match(/SESSIONS_RELEASE_URL:-([^}]+)\}/)![1]!;
  const install = readFileSync(join(REPO, "README.md"), "utf8").split("\n## Install\n")[1]!.split("\n## ")[0]!;
  expect(install).toContain(`${base}/v$v/SHA256SUMS`);
  expect(install).toContain(`v=${pkg.version} `);
  expect(install).toContain(`${base}/v${pkg.version}/get-sessions`);
});

test("fetches this platform's archive, checks it against SHA256SUMS and installs scripts/sessions", async () => {
  using dir = tempRoot({ git: false });
  const good = archive(dir.path, "the-real-one");
  files = { [`${name}.tar.gz`]: good, SHA256SUMS: new TextEncoder().encode(`${"0".repeat(64)}  other.tar.gz\n${sha256(good)}  ${name}.tar.gz\n`) };
  const r = await getSessions(join(dir.path, "project"));
  expect(r.stderr).toContain(`installed sessions ${pkg.version} (${name})`);
  expect(r.code).toBe(0);
  const installed = join(dir.path, "project", "scripts", "sessions");
  expect(Bun.spawnSync([installed]).stdout.toString()).toBe("the-real-one\n");
});

test("refuses a tampered archive and one SHA256SUMS does not list, and installs nothing", async () => {
  using dir = tempRoot({ git: false });
  const good = archive(dir.path, "the-real-one");
  const tampered = archive(dir.path, "tampered");
  files = { [`${name}.tar.gz`]: tampered, SHA256SUMS: new TextEncoder().encode(`${sha256(good)}  ${name}.tar.gz\n`) };
  const r = await getSessions(join(dir.path, "project"));
  expect(r.stderr).toContain(`checksum mismatch for ${name}.tar.gz (expected ${sha256(good)}, got ${sha256(tampered)}): not installed`);
  expect(r.code).toBe(1);
  expect(existsSync(join(dir.path, "project", "scripts", "sessions"))).toBe(false);

  files = { [`${name}.tar.gz`]: good, SHA256SUMS: new TextEncoder().encode(`${sha256(good)}  sessions-plan9-mips.tar.gz\n`) };
  const unlisted = await getSessions(join(dir.path, "project"));
  expect(unlisted.stderr).toContain("expected nothing");
  expect(unlisted.code).toBe(1);
  expect(existsSync(join(dir.path, "project", "scripts", "sessions"))).toBe(false);
});

test("fails on a missing release without installing anything", async () => {
  using dir = tempRoot({ git: false });
  files = {};
  const r = await getSessions(join(dir.path, "project"));
  expect(r.code).not.toBe(0);
  expect(existsSync(join(dir.path, "project", "scripts", "sessions"))).toBe(false);
});
