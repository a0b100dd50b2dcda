"""Command failures as MongoDB reports them: ``{ok: 0, errmsg, code, codeName}``.

A handler raises `CommandError` (or lets a mongomock/PyMongo error through); `error_doc`
turns either into the reply, and `error_code` gives the code a write error carries.
"""

from __future__ import annotations

from typing import Any

from pymongo.errors import DuplicateKeyError, PyMongoError


class CommandError(Exception):
    """A command failure with a MongoDB error code, answered as ``{ok: 0, ...}``."""

    def __init__(self, errmsg: str, code: int = 1, code_name: str | None = None) -> None:
        super().__init__(errmsg)
        self.errmsg = errmsg
        self.code = code
        self.code_name = code_name


def error_code(exc: BaseException) -> int:
    if isinstance(exc, CommandError):
        return exc.code
    if isinstance(exc, DuplicateKeyError):
        return 11000
    if isinstance(exc, PyMongoError):
        code = getattr(exc, "code", None)
        return code if isinstance(code, int) else 1
    if isinstance(exc, NotImplementedError):
        return 238  # NotImplemented
    return 1


def error_doc(exc: BaseException) -> dict[str, Any]:
    code = error_code(exc)
    doc: dict[str, Any] = {"ok": 0.0, "errmsg": str(exc) or type(exc).__name__, "code": code}
    code_name = exc.code_name if isinstance(exc, CommandError) else _CODE_NAMES.get(code)
    if code_name:
        doc["codeName"] = code_name
    return doc


_CODE_NAMES = {
    1: "InternalError",
    2: "BadValue",
    9: "FailedToParse",
    26: "NamespaceNotFound",
    27: "IndexNotFound",
    43: "CursorNotFound",
    48: "NamespaceExists",
    59: "CommandNotFound",
    72: "InvalidOptions",
    238: "NotImplemented",
    11000: "DuplicateKey",
}
