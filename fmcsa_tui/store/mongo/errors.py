"""Driver errors as the one line an operator reads, never a traceback or topology dump."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bson.errors import BSONError
from pymongo.errors import ConnectionFailure, OperationFailure, PyMongoError

from fmcsa_tui.store.base import StoreError, StoreRefused, StoreUnavailable

__all__ = ["UNAUTHORIZED", "brief", "driver_errors"]

#: MongoDB's error code for a command the user's roles do not allow (Unauthorized).
UNAUTHORIZED = 13


def brief(error: BaseException, hosts: str = "") -> str:
    """The driver's message in one short line, without its topology dump."""
    text = ""
    details = getattr(error, "details", None)
    if isinstance(details, dict):
        write_errors = details.get("writeErrors") or [{}]
        text = str(details.get("errmsg") or write_errors[0].get("errmsg") or "")
    text = (text or str(error) or type(error).__name__).strip().splitlines()[0]
    for cut in (" (configured timeouts", ", Timeout:", ", full error:"):
        text = text.split(cut, 1)[0]
    for host in hosts.split(","):
        if host and text.startswith(f"{host}: "):
            text = text[len(host) + 2 :]
    return text[:300]


@contextmanager
def driver_errors(hosts: str, *, writing: bool = False) -> Iterator[None]:
    """Driver errors as one-line StoreErrors (StoreUnavailable when unreachable,
    StoreRefused when the user may not do it: `writing` says what was refused)."""
    try:
        yield
    except StoreError:
        raise
    except ConnectionFailure as error:  # AutoReconnect, NetworkTimeout, server selection
        reason = brief(error, hosts)
        raise StoreUnavailable(f"MongoDB at {hosts} is unreachable: {reason}") from error
    except OperationFailure as error:
        if error.code == UNAUTHORIZED:  # its message quotes the whole command: not shown
            what = "the write" if writing else "the request"
            raise StoreRefused(
                f"MongoDB at {hosts} refused {what}: the user is not authorized"
                " (a user with only the read role can browse with --read-only)"
            ) from error
        raise StoreError(f"MongoDB at {hosts}: {brief(error, hosts)}") from error
    except PyMongoError as error:  # the rest
        raise StoreError(f"MongoDB at {hosts}: {brief(error, hosts)}") from error
    except BSONError as error:
        raise StoreError(f"document cannot be stored: {brief(error)}") from error
    except (OSError, TimeoutError) as error:  # raw socket errors the async driver lets out
        reason = brief(error, hosts)
        raise StoreUnavailable(f"MongoDB at {hosts} is unreachable: {reason}") from error
