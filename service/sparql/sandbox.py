"""Take network access away from a process, for good: a seccomp filter the kernel enforces.

Query workers evaluate untrusted SPARQL (SERVICE, LOAD) and parse untrusted RDF. Before they take any work they
install a filter that makes ``socket``, ``socketpair`` and ``io_uring_setup`` fail with EACCES: no TCP, UDP or
Unix socket can be created (so no connection, no DNS lookup, no nscd), whatever the query text says and however it
is escaped. The filter cannot be removed and is inherited by any child. ``PR_SET_NO_NEW_PRIVS`` comes first, as
the kernel requires of an unprivileged process. A worker never needs a socket: it talks to its server through the
pipes it was forked with, and the sockets it inherited are closed before the filter goes in.

Supported where the kernel has seccomp filters, on x86_64 and aarch64 (``available()``); elsewhere workers run
without it and the service logs that SERVICE and LOAD are refused by the query text alone.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import socket
from functools import cache

_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_LD_ABS_W = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_RET_K = 0x06  # BPF_RET | BPF_K
_X32_BIT = 0x40000000

# audit architecture, then the numbers of socket, socketpair and io_uring_setup (an io_uring can open sockets
# without the socket system call)
_ARCHES = {
    "x86_64": (0xC000003E, (41, 53, 425)),
    "aarch64": (0xC00000B7, (198, 199, 425)),
}


class _Instruction(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_Instruction))]


def available() -> bool:
    """Whether this machine's architecture is one the filter is written for."""
    return platform.machine() in _ARCHES


def _program() -> list[_Instruction]:
    arch, denied = _ARCHES[platform.machine()]
    refuse = _RET_ERRNO | errno.EACCES
    program = [
        _Instruction(_LD_ABS_W, 0, 0, 4),  # seccomp_data.arch
        _Instruction(_JEQ_K, 1, 0, arch),
        _Instruction(_RET_K, 0, 0, refuse),  # another ABI (32-bit entry points): nothing at all
        _Instruction(_LD_ABS_W, 0, 0, 0),  # seccomp_data.nr
        _Instruction(_JGE_K, 0, 1, _X32_BIT),
        _Instruction(_RET_K, 0, 0, refuse),  # the x32 ABI's numbers
    ]
    for number in denied:
        program.append(_Instruction(_JEQ_K, 0, 1, number))
        program.append(_Instruction(_RET_K, 0, 0, refuse))
    program.append(_Instruction(_RET_K, 0, 0, _RET_ALLOW))
    return program


class Filter:
    """The filter, built once in the server process; ``install`` is all a forked worker does with it (no library
    loading or allocation in the child, where another thread's lock may be held forever)."""

    def __init__(self) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True) if available() else None
        instructions = _program() if available() else []
        self._array = (_Instruction * len(instructions))(*instructions)
        self._program = _Program(len(instructions), self._array)

    def install(self) -> None:
        """Make this process (and any child) unable to create sockets; OSError if the kernel refuses."""
        if self._libc is None:
            raise OSError(errno.ENOSYS, "no seccomp filter for this architecture")
        if self._libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        if self._libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(self._program), 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP) failed")

    def works(self) -> bool:
        """Whether this kernel takes the filter and it then refuses a socket (tried once per process)."""
        return self._libc is not None and _kernel_takes_it()


@cache
def _kernel_takes_it() -> bool:
    """Install the filter in a throw-away child and see a socket refused there."""
    kernel_filter = Filter()
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            kernel_filter.install()
            try:
                socket.socket().close()
                code = 1
            except PermissionError:
                code = 0
        except BaseException:
            code = 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def drop_network() -> None:
    """Make this process (and any child) unable to create sockets; OSError if the kernel refuses the filter."""
    Filter().install()
