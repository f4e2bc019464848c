"""Where a photo's hints are kept: ``NAME.hints.json`` beside it (the file ``vidcolor photo
--hints`` reads), or, for a photo in a folder that cannot be written, a place the user chose,
remembered in the settings so that opening the photo again finds it.

The reads and writes are job functions (they run on the engine thread, never the GUI's).
"""

from __future__ import annotations

import errno
import json
from pathlib import Path

from PySide6.QtCore import QSettings

from .workers import JobContext

SUFFIX = ".hints.json"
_KEY = "hints/elsewhere"  # {photo path: hints file} for photos whose own folder was not writable


def beside(photo: Path) -> Path:
    return photo.with_name(photo.stem + SUFFIX)


class SidecarPlaces:
    def __init__(self, store: QSettings):
        self._store = store

    def _elsewhere(self) -> dict[str, str]:
        try:
            places = json.loads(str(self._store.value(_KEY, "{}")))
        except ValueError:
            return {}
        return places if isinstance(places, dict) else {}

    def path_for(self, photo: Path) -> Path:
        """Where ``photo``'s hints are: the place chosen for it, else beside it."""
        chosen = self._elsewhere().get(str(Path(photo).resolve()))
        return Path(chosen) if chosen else beside(Path(photo))

    def remember(self, photo: Path, hints_file: Path) -> None:
        self._store.setValue(_KEY, json.dumps({**self._elsewhere(), str(Path(photo).resolve()): str(hints_file)}))


def is_unwritable(error: BaseException) -> bool:
    """True when ``error`` says the folder may not be written (rather than, say, a full disk)."""
    return isinstance(error, OSError) and (isinstance(error, PermissionError)
                                           or error.errno in (errno.EROFS, errno.EACCES, errno.EPERM))


# -- jobs ----------------------------------------------------------------------------------------------
def read_hints(path: Path | None, size: tuple[int, int]) -> list:
    """The hints in ``path`` for a photo of ``size`` (width, height); none when there is no file.
    A malformed file or a point off the photo raises :class:`~vidcolor.errors.HintsError`."""
    from vidcolor.hints import check_inside, load_hints  # imports torch: only ever on the engine thread

    if path is None or not path.is_file():
        return []
    hints = load_hints(path)
    check_inside(hints, *size, source=str(path))
    return hints


def write_hints(ctx: JobContext, path: Path, hints: list) -> Path:
    """Write ``hints`` to ``path`` whole or not at all; no hints remove the file."""
    from vidcolor.hints import save_hints

    if hints:
        save_hints(path, hints)
    else:
        path.unlink(missing_ok=True)
    return path
