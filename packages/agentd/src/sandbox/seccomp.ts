// A seccomp filter for sandboxed code, as classic BPF (what `bwrap --seccomp <fd>` loads): no compiler
// or native addon needed for a program this small. Everything is allowed except what only widens the
// kernel's attack surface for code that has no use for it.

/** Per architecture: the audit arch, and the syscall numbers the filter names. */
const ARCHES = {
  x64: {
    audit: 0xc000003e,
    x32: true, // x32 syscalls (nr | 0x40000000) are another table of the same calls: refused whole
    newUser: { unshare: 272, clone: 56 },
    clone3: 435,
    // setns, keyctl, add_key, request_key, bpf, perf_event_open, userfaultfd, io_uring_setup/enter/register
    refused: [308, 250, 248, 249, 321, 298, 323, 425, 426, 427],
  },
  arm64: {
    audit: 0xc00000b7,
    x32: false,
    newUser: { unshare: 97, clone: 220 },
    clone3: 435,
    refused: [268, 219, 217, 218, 280, 241, 282, 425, 426, 427],
  },
} as const;

const LD_ABS = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JEQ = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JGE = 0x35; // BPF_JMP | BPF_JGE | BPF_K
const JSET = 0x45; // BPF_JMP | BPF_JSET | BPF_K
const RET = 0x06; // BPF_RET | BPF_K
const ALLOW = 0x7fff0000;
const ERRNO = 0x00050000;
const EPERM = 1;
const ENOSYS = 38;
const CLONE_NEWUSER = 0x10000000;

type Insn = [code: number, jt: number, jf: number, k: number];

/**
 * The filter for this machine's architecture, or null where it has none (the sandbox then relies on
 * the rest). It refuses with EPERM: new user namespaces (unshare and clone with CLONE_NEWUSER; as
 * root the code runs without a user namespace of bubblewrap's, so nothing else stops it making one),
 * joining namespaces (setns), the kernel keyring, eBPF, perf events, userfaultfd and io_uring; clone3
 * gets ENOSYS, since its flags sit in memory a filter cannot read (libc falls back to clone, which is
 * checked); a syscall of another architecture (i386 through int 0x80, x32) is refused.
 */
export function seccompFilter(arch: string = process.arch): Buffer | null {
  const a = ARCHES[arch as keyof typeof ARCHES];
  if (!a) return null;
  // Jumps are relative: built with symbolic targets, resolved at the end.
  const prog: (Insn | { jeq: number; to: "deny" | "enosys" | "flags" } | { jge: number; to: "deny" })[] = [
    [LD_ABS, 0, 0, 4], // arch
    { jeq: a.audit, to: "deny" }, // inverted below: not equal → deny
    [LD_ABS, 0, 0, 0], // nr
  ];
  if (a.x32) prog.push({ jge: 0x40000000, to: "deny" });
  for (const nr of a.refused) prog.push({ jeq: nr, to: "deny" });
  prog.push(
    { jeq: a.clone3, to: "enosys" },
    { jeq: a.newUser.unshare, to: "flags" },
    { jeq: a.newUser.clone, to: "flags" },
  );
  prog.push([RET, 0, 0, ALLOW]);
  const flags = prog.length;
  prog.push([LD_ABS, 0, 0, 16], [JSET, 0, 1, CLONE_NEWUSER], [RET, 0, 0, ERRNO | EPERM], [RET, 0, 0, ALLOW]);
  const deny = prog.length;
  prog.push([RET, 0, 0, ERRNO | EPERM]);
  const enosys = prog.length;
  prog.push([RET, 0, 0, ERRNO | ENOSYS]);
  const target = { deny, enosys, flags };
  const out = Buffer.alloc(prog.length * 8);
  prog.forEach((p, i) => {
    let insn: Insn;
    if (Array.isArray(p)) insn = p;
    else {
      const off = target[p.to] - (i + 1);
      if ("jge" in p) insn = [JGE, off, 0, p.jge];
      // The arch check is the one jump taken on inequality.
      else if (i === 1) insn = [JEQ, 0, off, p.jeq];
      else insn = [JEQ, off, 0, p.jeq];
    }
    if (insn[1] > 255 || insn[2] > 255) throw new Error("seccomp filter: a jump too far");
    out.writeUInt16LE(insn[0], i * 8);
    out.writeUInt8(insn[1], i * 8 + 2);
    out.writeUInt8(insn[2], i * 8 + 3);
    out.writeUInt32LE(insn[3] >>> 0, i * 8 + 4);
  });
  return out;
}
