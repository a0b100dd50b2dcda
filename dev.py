#!/usr/bin/env python3
"""One entry point for people and CI; needs nothing but Python >= 3.11.

    python3 dev.py demo        open the dashboard on the demo store
    python3 dev.py test        lint, types, layering, tests, benchmark and fault-matrix smoke
    python3 dev.py bench ...   the bulk-sync benchmark at full size (arguments pass through)
    python3 dev.py bench-ui    the dashboard benchmark, 10,000 to 1,000,000 companies

Each command first makes `.venv` and installs the project with its dev extras,
again only when pyproject.toml changed since the last install.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".installed-from"


def _ensure_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may run on any python3
        sys.exit("fmcsa-tui needs Python 3.11 or newer")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if PYTHON.exists() and STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not PYTHON.exists():
        print("dev.py: creating .venv", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("dev.py: installing fmcsa-tui and its dev tools into .venv", flush=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(wanted)


def _run(*args: str) -> int:
    print("+", " ".join(args), flush=True)
    return subprocess.run(args, cwd=ROOT).returncode


def test(extra: list[str]) -> int:
    steps = [
        (str(BIN / "ruff"), "check", "."),
        (str(BIN / "ruff"), "format", "--check", "."),
        (str(BIN / "mypy"),),
        (str(BIN / "lint-imports"),),
        (str(PYTHON), "-m", "pytest", *extra),
        (str(PYTHON), "-m", "benchmarks.bench", "--smoke"),
        (str(PYTHON), "-m", "benchmarks.ui_bench", "--sizes", "2000", "--repeat", "1"),
        (str(PYTHON), "-m", "benchmarks.fault_matrix", "--smoke"),
    ]
    failed = [" ".join(step[:2]) for step in steps if _run(*step) != 0]
    if failed:
        print(f"dev.py test: FAILED: {', '.join(failed)}", flush=True)
        return 1
    print("dev.py test: all checks passed", flush=True)
    return 0


def main() -> int:
    command, *rest = sys.argv[1:] or ["help"]
    if command not in {"demo", "test", "bench", "bench-ui"}:
        print(__doc__)
        return 0 if command in {"help", "-h", "--help"} else 2
    _ensure_venv()
    if command == "demo":
        return _run(str(BIN / "fmcsa-tui"), "demo", *rest)
    if command == "bench":
        return _run(str(PYTHON), "-m", "benchmarks.bench", *rest)
    if command == "bench-ui":
        return _run(str(PYTHON), "-m", "benchmarks.ui_bench", *rest)
    return test(rest)


if __name__ == "__main__":
    sys.exit(main())
