/**
 * What an executable is built for, read from its header: ELF (Linux; the program interpreter tells
 * musl from glibc) or 64-bit Mach-O (macOS). `bun run release` checks each binary with it.
 */
export type BinaryFormat = { os: "linux" | "darwin"; arch: "x64" | "arm64"; musl: boolean };

const ELF_MACHINE: Record<number, BinaryFormat["arch"]> = { 0x3e: "x64", 0xb7: "arm64" };
const MACHO_CPU: Record<number, BinaryFormat["arch"]> = { 0x01000007: "x64", 0x0100000c: "arm64" };
const PT_INTERP = 3;

/** The format of the executable whose first bytes are `head` (64 KiB is plenty), or null if it is neither. */
export function binaryFormat(head: Uint8Array): BinaryFormat | null {
  const v = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (head.length < 64) return null;
  if (v.getUint32(0) === 0x7f454c46) {
    // 64-bit little-endian only: every Bun target is.
    if (head[4] !== 2 || head[5] !== 1) return null;
    const arch = ELF_MACHINE[v.getUint16(18, true)];
    if (!arch) return null;
    return { os: "linux", arch, musl: interpreter(v, head)?.includes("musl") ?? false };
  }
  if (v.getUint32(0, true) === 0xfeedfacf) {
    const arch = MACHO_CPU[v.getUint32(4, true)];
    return arch ? { os: "darwin", arch, musl: false } : null;
  }
  return null;
}

/** The release name of a format: linux-x64, linux-x64-musl, darwin-arm64, ... */
export const formatName = (f: BinaryFormat): string => `${f.os}-${f.arch}${f.musl ? "-musl" : ""}`;

/** The ELF PT_INTERP path (the dynamic loader), if the program headers and it lie inside `head`. */
function interpreter(v: DataView, head: Uint8Array): string | undefined {
  const phoff = Number(v.getBigUint64(32, true));
  const size = v.getUint16(54, true);
  const count = v.getUint16(56, true);
  for (let i = 0; i < count; i++) {
    const p = phoff + i * size;
    if (p + 40 > head.length) return undefined;
    if (v.getUint32(p, true) !== PT_INTERP) continue;
    const off = Number(v.getBigUint64(p + 8, true));
    const len = Number(v.getBigUint64(p + 32, true));
    if (off + len > head.length) return undefined;
    return new TextDecoder().decode(head.subarray(off, off + len)).replace(/\0+$/, "");
  }
  return undefined;
}
