"""A guard that fails any network connection: only AF_UNIX sockets may connect.

Used in-process (install()) and for whole commands (python tests/netguard.py ARGS runs
`haven ARGS` with the guard installed). A blocked attempt raises, and is also
recorded in the file named by HAVEN_NETGUARD_LOG so a test can see attempts that the
code under test swallowed.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys

_attempts: list[str] = []


class NetworkBlocked(RuntimeError):
    pass


def _record(what: str) -> None:
    _attempts.append(what)
    log = os.environ.get("HAVEN_NETGUARD_LOG")
    if log:
        with open(log, "a") as f:
            f.write(what + "\n")
    raise NetworkBlocked(f"network access attempted: {what}")


def install() -> list[str]:
    """Guard this process from now on; returns the list that collects attempts."""

    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex

    def connect(self, address):
        if self.family != socket.AF_UNIX:
            _record(f"connect {address!r}")
        return original_connect(self, address)

    def connect_ex(self, address):
        if self.family != socket.AF_UNIX:
            _record(f"connect_ex {address!r}")
        return original_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        _record(f"getaddrinfo {host!r}")

    _saved[:] = [original_connect, original_connect_ex, socket.getaddrinfo]
    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.getaddrinfo = getaddrinfo
    return _attempts


_saved: list = []


def uninstall() -> None:
    if _saved:
        socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = _saved
        _saved.clear()


@contextlib.contextmanager
def guarded():
    """The guard for the length of a with-block; yields the attempts list."""
    _attempts.clear()
    try:
        yield install()
    finally:
        uninstall()


if __name__ == "__main__":
    install()
    from assistant.cli import main

    sys.exit(main(sys.argv[1:]))
