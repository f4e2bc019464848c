"""What a file is, by its extension: one list for the CLI, the app's file dialogs and the library.

Nothing heavy is imported here, so the app can build its dialogs before the engine has loaded.
"""

from __future__ import annotations

from pathlib import Path

PHOTO_WRITE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF",
                       ".webp": "WEBP"}
PHOTO_SUFFIXES = set(PHOTO_WRITE_FORMATS) | {".bmp", ".gif", ".jp2", ".pgm", ".ppm", ".pbm", ".pnm", ".tga"}
VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ogv",
                  ".ts", ".mts", ".m2ts", ".3gp"}


def find_files(folder: Path, suffixes: set[str], recursive: bool = False, skip_under: Path | None = None) -> list[Path]:
    """The files of ``folder`` (and of its sub-folders when ``recursive``) with one of ``suffixes``
    (hidden ones left out), sorted. Files inside ``skip_under`` are left out: earlier results in an
    output folder nested in the input folder are not inputs. An output that is the input folder
    itself skips nothing; the callers refuse outputs that would overwrite their inputs."""
    folder = Path(folder)
    skip = None if skip_under is None or Path(skip_under).resolve() == folder.resolve() else Path(skip_under).resolve()
    found = folder.rglob("*") if recursive else folder.glob("*")
    return [f for f in sorted(found)
            if f.is_file() and f.suffix.lower() in suffixes and not f.name.startswith(".")
            and not (skip is not None and skip in f.resolve().parents)]


def video_output_name(src: Path) -> str:
    """The name a colourised video gets in an output folder."""
    return f"{Path(src).stem}_colour.mp4"


def check_distinct_outputs(pairs: list[tuple[Path, Path]], error: type[ValueError] = ValueError,
                           hint: str = "colourise them into different folders") -> None:
    """Refuse a batch in which two inputs would be written to one output (the second would
    replace the first's result)."""
    sources: dict[Path, Path] = {}
    for src, dst in pairs:
        key = Path(dst).resolve()
        if key in sources:
            raise error(f"{sources[key]} and {src} would both be written to {dst}; {hint}")
        sources[key] = src
