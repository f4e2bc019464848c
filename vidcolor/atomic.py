"""Writing a file whole or not at all: through a temporary file beside it, renamed over it once
complete, removed on failure. Temporaries a hard kill left behind (named by a process that no
longer runs) are swept when the same output is written again; only names made here are touched."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MARK = ".vidcolor-tmp"


def temp_path(path: Path, pid: int | None = None) -> Path:
    """The temporary of ``path`` for process ``pid`` (this one by default). It keeps the suffix:
    encoders choose their format by it."""
    path = Path(path)
    return path.with_name(f".{path.stem}{MARK}{os.getpid() if pid is None else pid}{path.suffix}")


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def sweep_stale(path: Path) -> list[Path]:
    """Remove the temporaries of ``path`` whose process has ended; returns them."""
    path = Path(path)
    pattern = re.compile(re.escape(f".{path.stem}{MARK}") + r"(\d+)" + re.escape(path.suffix) + "$")
    removed = []
    if not path.parent.is_dir():
        return removed
    for candidate in path.parent.iterdir():
        m = pattern.match(candidate.name)
        if m and int(m.group(1)) != os.getpid() and not _running(int(m.group(1))):
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path``, on any failure it goes."""
    path = Path(path)
    sweep_stale(path)
    tmp = temp_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
