"""Where a photo's or video's reference photos are listed: ``NAME.references.json`` beside it,
``{"version": 1, "references": [{"path": "house.jpg", "t": null}]}``. A path inside the list's
own folder is kept relative to it, so that the folder can be moved whole; ``t`` is the time
(seconds) of the video shot a reference is for, null for every shot (and on a photo).

The reads and writes are job functions (they run on the engine thread, never the GUI's): a
reference is checked and shrunk to a thumbnail there.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
from PySide6.QtGui import QImage

from vidcolor.atomic import atomic_output
from vidcolor.errors import ReferencePhotoError

from .images import to_qimage, to_uint8
from .workers import JobContext

SUFFIX = ".references.json"
FORMAT_VERSION = 1
THUMB_HEIGHT = 96  # device pixels: sharp on a high-density screen at the strip's size


class ReferenceListError(ValueError):
    """A references file is malformed; the message names it."""


@dataclass(frozen=True)
class LoadedReference:
    path: Path
    reference: object  # vidcolor.reference.Reference: its t says which shot (video) it is for
    thumb: QImage

    @property
    def t(self) -> float | None:
        return self.reference.t

    def at(self, t: float | None) -> "LoadedReference":
        """The same photo for the shot at ``t`` (None: every shot)."""
        return LoadedReference(self.path, self.reference.at(t), self.thumb)


def beside(media: Path) -> Path:
    return media.with_name(media.stem + SUFFIX)


# -- jobs ----------------------------------------------------------------------------------------------
def load_reference(ctx: JobContext | None, path: Path, t: float | None = None) -> LoadedReference:
    """The colour photo at ``path``; :class:`ReferencePhotoError` naming it when missing,
    unreadable or gray."""
    from vidcolor.reference import load_reference as load  # imports torch: only ever on the engine thread

    ref = load(path, t)
    h, w = ref.rgb.shape[:2]
    scale = min(1.0, THUMB_HEIGHT / h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return LoadedReference(Path(path), ref, to_qimage(cv2.resize(to_uint8(ref.rgb), size, interpolation=cv2.INTER_AREA)))


def read_references(listing: Path | None) -> tuple[list[LoadedReference], list[Exception]]:
    """The references listed in ``listing`` (none when there is no file), and what was wrong with
    those that could not be used: each is left out, the rest still come."""
    if listing is None or not listing.is_file():
        return [], []
    try:
        data = json.loads(listing.read_text(encoding="utf-8"))
        items = data["references"]
        entries = [(Path(item["path"]), item.get("t")) for item in items]
        if data.get("version") != FORMAT_VERSION or not all(t is None or isinstance(t, (int, float))
                                                             for _, t in entries):
            raise ValueError("unknown version or a time that is not a number")
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ReferenceListError(f"{listing}: not a list of reference photos ({e})") from None
    loaded, errors = [], []
    for path, t in entries:
        try:
            loaded.append(load_reference(None, path if path.is_absolute() else listing.parent / path, t))
        except ReferencePhotoError as e:
            errors.append(e)
    return loaded, errors


def write_references(ctx: JobContext, path: Path, entries: list[tuple[Path, float | None]]) -> Path:
    """Write the list whole or not at all; an empty list removes the file."""
    if not entries:
        path.unlink(missing_ok=True)
        return path
    items = [{"path": _as_kept(p, path.parent), "t": t} for p, t in entries]
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps({"version": FORMAT_VERSION, "references": items}, indent=1), encoding="utf-8")
    return path


def _as_kept(path: Path, folder: Path) -> str:
    path, folder = Path(os.path.abspath(path)), Path(os.path.abspath(folder))
    return path.relative_to(folder).as_posix() if path.is_relative_to(folder) else str(path)
