#!/usr/bin/env python3
"""Runs a command the way Docker's default seccomp profile would run it, as far as namespaces go.

    python3 benches/support/no_userns.py CMD [ARGS...]

A seccomp filter refuses `unshare` and a `clone` with CLONE_NEWUSER (EPERM), and answers
`clone3` with ENOSYS so that glibc falls back to `clone`; everything else is allowed. The runner
under it cannot make its namespaces, so it runs as it does in the Docker image: a plain
forkserver, every task confining itself. Used to benchmark that mode:

    cargo bench --bench load -- --runner "python3 benches/support/no_userns.py target/release/n8n-python-runner"

x86_64 and aarch64 only (the syscall numbers below).
"""

import ctypes
import errno
import os
import platform
import struct
import sys

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
CLONE_NEWUSER = 0x10000000

# audit arch, then the numbers of unshare, clone and clone3
ARCHES = {
    "x86_64": (0xC000003E, 272, 56, 435),
    "aarch64": (0xC00000B7, 97, 220, 435),
}

# classic BPF: ld, jeq, jset, ret (absolute word loads from struct seccomp_data)
LD_W_ABS = 0x20
JEQ_K = 0x15
JSET_K = 0x45
RET_K = 0x06
OFFSET_NR, OFFSET_ARCH, OFFSET_ARG0 = 0, 4, 16


def program():
    arch, unshare, clone, clone3 = ARCHES[platform.machine()]

    def op(code, k, jt=0, jf=0):
        return struct.pack("HBBI", code, jt, jf, k)

    return [
        op(LD_W_ABS, OFFSET_ARCH),
        op(JEQ_K, arch, 1, 0),
        op(RET_K, SECCOMP_RET_ALLOW),  # another ABI: not ours to judge
        op(LD_W_ABS, OFFSET_NR),
        op(JEQ_K, unshare, 0, 1),
        op(RET_K, SECCOMP_RET_ERRNO | errno.EPERM),
        op(JEQ_K, clone3, 0, 1),
        op(RET_K, SECCOMP_RET_ERRNO | errno.ENOSYS),
        op(JEQ_K, clone, 0, 3),
        op(LD_W_ABS, OFFSET_ARG0),  # clone's flags, low 32 bits (little-endian)
        op(JSET_K, CLONE_NEWUSER, 0, 1),
        op(RET_K, SECCOMP_RET_ERRNO | errno.EPERM),
        op(RET_K, SECCOMP_RET_ALLOW),
    ]


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    instructions = program()
    buffer = ctypes.create_string_buffer(b"".join(instructions))
    fprog = SockFprog(len(instructions), ctypes.addressof(buffer))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        sys.exit(f"prctl(NO_NEW_PRIVS): {os.strerror(ctypes.get_errno())}")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        sys.exit(f"prctl(SECCOMP): {os.strerror(ctypes.get_errno())}")
    os.execvp(sys.argv[1], sys.argv[1:])


if __name__ == "__main__":
    main()
