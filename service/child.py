"""Forked children: a query worker, or one half of a validation run beside its parent.

A child shares the parent's memory copy-on-write and gives every page back when it ends, which a thread does not
(glibc keeps a thread's heap for the life of the process).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import signal
import stat
from collections.abc import Callable
from typing import Any

_PR_SET_PDEATHSIG = 1


class ChildFailed(Exception):
    """A forked child ended without giving its answer."""


def close_inherited(keep: set[int]) -> None:
    """In a child: close the sockets and pipes it inherited (client connections, listening sockets, other children's
    pipes), and take the default signal handlers back.

    Files stay open: the store's files belong to them.
    """
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd in keep or fd < 3:
            continue
        try:
            mode = os.fstat(fd).st_mode
        except OSError:
            continue
        if stat.S_ISSOCK(mode) or stat.S_ISFIFO(mode):
            with contextlib.suppress(OSError):
                os.close(fd)


def die_with_parent() -> None:
    """In a child: be killed when the parent dies (a stopped server leaves no child running)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class Forked:
    """``function(*args)`` computed in a forked child; ``result()`` waits for its pickled answer."""

    def __init__(self, function: Callable[..., Any], *args: Any) -> None:
        read, write = os.pipe()
        self._pid = os.fork()
        if self._pid == 0:
            status = 1
            try:
                os.close(read)
                close_inherited({write})
                die_with_parent()
                payload = pickle.dumps(function(*args), protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(write, "wb") as out:
                    out.write(payload)
                status = 0
            finally:
                os._exit(status)
        os.close(write)
        self._read = read

    def cancel(self) -> None:
        """Stop the child and reap it (its answer is not wanted: the parent failed)."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self._pid, 0)
        with contextlib.suppress(OSError):
            os.close(self._read)

    def result(self) -> Any:
        """The child's answer (ChildFailed if it ended without one: killed, out of memory, an exception)."""
        with os.fdopen(self._read, "rb") as answer:
            payload = answer.read()
        _, status = os.waitpid(self._pid, 0)
        if os.waitstatus_to_exitcode(status) != 0 or not payload:
            raise ChildFailed(f"child {self._pid} ended with status {os.waitstatus_to_exitcode(status)}")
        return pickle.loads(payload)
