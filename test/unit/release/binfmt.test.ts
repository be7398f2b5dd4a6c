/** The header check of `bun run release`; test/release/release.test.ts runs it on the five real artifacts. */
import { expect, test } from "bun:test";
import { binaryFormat, formatName } from "../../release/binfmt.ts";

const head = async (path: string) => new Uint8Array(await Bun.file(path).slice(0, 65536).arrayBuffer());

/** A 64-bit little-endian ELF header for `machine`, with a PT_INTERP program header naming `interp`. */
function elf(machine: number, interp?: string): Uint8Array {
  const b = new Uint8Array(256);
  const v = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  v.setUint16(18, machine, true);
  v.setBigUint64(32, 64n, true); // e_phoff
  v.setUint16(54, 56, true); // e_phentsize
  v.setUint16(56, interp ? 1 : 0, true);
  if (interp) {
    v.setUint32(64, 3, true); // PT_INTERP
    v.setBigUint64(64 + 8, 120n, true);
    v.setBigUint64(64 + 32, BigInt(interp.length + 1), true);
    b.set(new TextEncoder().encode(interp), 120);
  }
  return b;
}

function macho(cpu: number): Uint8Array {
  const b = new Uint8Array(64);
  new DataView(b.buffer).setUint32(0, 0xfeedfacf, true);
  new DataView(b.buffer).setUint32(4, cpu, true);
  return b;
}

test("the Bun running this test is read as this machine's platform", async () => {
  const f = binaryFormat(await head(process.execPath));
  expect(f && `${f.os}-${f.arch}`).toBe(`${process.platform}-${process.arch}`);
});

test("ELF machine and loader give the Linux target, musl included", () => {
  expect(formatName(binaryFormat(elf(0x3e, "/lib64/ld-linux-x86-64.so.2"))!)).toBe("linux-x64");
  expect(formatName(binaryFormat(elf(0xb7, "/lib/ld-linux-aarch64.so.1"))!)).toBe("linux-arm64");
  expect(formatName(binaryFormat(elf(0x3e, "/lib/ld-musl-x86_64.so.1"))!)).toBe("linux-x64-musl");
  expect(formatName(binaryFormat(elf(0x3e))!)).toBe("linux-x64");
});

test("the Mach-O CPU type gives the macOS target", () => {
  expect(formatName(binaryFormat(macho(0x01000007))!)).toBe("darwin-x64");
  expect(formatName(binaryFormat(macho(0x0100000c))!)).toBe("darwin-arm64");
});

test("anything else is not an executable of a release target", () => {
  expect(binaryFormat(new TextEncoder().encode("#!/bin/sh\necho hi\n".padEnd(80)))).toBeNull();
  expect(binaryFormat(elf(0x28))).toBeNull(); // 32-bit ARM machine
  expect(binaryFormat(macho(0x00000012))).toBeNull(); // PowerPC
  expect(binaryFormat(elf(0x3e).subarray(0, 20))).toBeNull();
  const elf32 = elf(0x3e);
  elf32[4] = 1;
  expect(binaryFormat(elf32)).toBeNull();
});
