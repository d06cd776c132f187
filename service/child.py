"""Forked children: a query worker, or one half of a validation run beside its parent.

A child shares the parent's memory copy-on-write and gives every page back when it ends, which a thread does not
(glibc keeps a thread's heap for the life of the process).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import select
import signal
import stat
import time
import traceback
from collections.abc import Callable
from typing import Any, NoReturn

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


_LIBC = ctypes.CDLL(None, use_errno=True)


def die_with_parent(parent: int) -> None:
    """In a child: be killed when the thread that forked it ends (a stopped server leaves no child running), and
    end now if ``parent`` is already gone. The thread that forks must wait for or cancel the child."""
    if _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        os.write(2, b"careerkg: a child cannot ask to die with its parent\n")
    if os.getppid() != parent:
        os._exit(1)


class Forked:
    """``function(*args)`` computed in a forked child; ``result(timeout)`` waits for its pickled answer.

    ``result`` or ``cancel`` is called once, by the thread that forked, which must outlive the child.
    Raises ChildFailed if there is no child (fork failed: no memory, too many processes).
    """

    def __init__(self, function: Callable[..., Any], *args: Any) -> None:
        parent = os.getpid()
        read, write = os.pipe()
        try:
            self._pid = os.fork()
        except OSError as exc:
            os.close(read)
            os.close(write)
            raise ChildFailed(f"no child: {exc}") from None
        if self._pid == 0:
            _child(parent, read, write, function, args)
        os.close(write)
        self._read = read

    def cancel(self) -> None:
        """Stop the child and reap it (its answer is not wanted: the parent failed, or the child took too long)."""
        if self._pid:  # (0 once reaped: os.kill(0) would kill this whole process group)
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
        self._finish()

    def result(self, timeout: float | None = None) -> Any:
        """The child's answer; ChildFailed if it ended without one (killed, out of memory, an exception) or gave
        none within ``timeout`` seconds (it is then killed)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        chunks: list[bytes] = []
        ready = select.poll()  # (not select(): a server's descriptors can pass 1024)
        ready.register(self._read, select.POLLIN)
        try:
            while True:
                wait = None if deadline is None else max(0, int((deadline - time.monotonic()) * 1000))
                if not ready.poll(wait):
                    pid = self._pid
                    self.cancel()
                    raise ChildFailed(f"child {pid} gave no answer within {timeout:g} s")
                chunk = os.read(self._read, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
        except BaseException:
            self.cancel()
            raise
        pid, status = self._pid, self._finish()
        if status != 0 or not chunks:
            raise ChildFailed(f"child {pid} ended with status {status}")
        return pickle.loads(b"".join(chunks))  # our own child's answer

    def _finish(self) -> int:
        """Reap the child and close the pipe, once; the child's exit status."""
        status = -1
        if self._pid:
            with contextlib.suppress(ChildProcessError):
                status = os.waitstatus_to_exitcode(os.waitpid(self._pid, 0)[1])
            self._pid = 0
        if self._read >= 0:
            os.close(self._read)
            self._read = -1
        return status


def _child(parent: int, read: int, write: int, function: Callable[..., Any], args: tuple[Any, ...]) -> NoReturn:
    status = 1
    try:
        die_with_parent(parent)
        os.close(read)
        close_inherited({write})
        payload = pickle.dumps(function(*args), protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(write, "wb") as out:
            out.write(payload)
        status = 0
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(status)
