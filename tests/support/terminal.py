"""A program on a pseudo-terminal, as an operator's terminal would run it.

`Terminal` starts a command with a pty of a given size as its stdin, stdout and
stderr, collects everything it writes on a thread, waits for text to appear (escape
sequences removed first), and types keys. Used to run the dashboard and the demo as
commands, not as an app object.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import termios
import threading
import time
from types import TracebackType

__all__ = ["Terminal"]

_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


class Terminal:
    """`command` running on a `columns` x `rows` pseudo-terminal."""

    def __init__(
        self, command: list[str], env: dict[str, str], *, columns: int = 160, rows: int = 45
    ) -> None:
        self._primary, secondary = pty.openpty()
        fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.process = subprocess.Popen(
            command,
            env={**env, "TERM": "xterm-256color", "COLUMNS": str(columns), "LINES": str(rows)},
            stdin=secondary, stdout=secondary, stderr=secondary,
            close_fds=True, start_new_session=True,
        )  # fmt: skip
        os.close(secondary)
        self._output = bytearray()
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self._primary, 65536)
            except OSError:  # EIO: the program closed its terminal
                return
            if not chunk:
                return
            with self._lock:
                self._output += chunk

    @property
    def raw(self) -> str:
        """Everything written so far, escape sequences and all."""
        with self._lock:
            return self._output.decode("utf-8", "replace")

    @property
    def text(self) -> str:
        """Everything written so far, escape sequences removed."""
        return _ESCAPES.sub("", self.raw)

    def wait_for(self, needle: str, limit: float = 30) -> None:
        deadline = time.monotonic() + limit
        while needle not in self.text:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} never appeared; the screen held:\n{self.text}")
            time.sleep(0.05)

    def type(self, keys: str) -> None:
        os.write(self._primary, keys.encode())

    def wait_exit(self, limit: float = 30) -> int:
        code = self.process.wait(timeout=limit)
        self._reader.join(timeout=5)
        return code

    def __enter__(self) -> Terminal:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        os.close(self._primary)
