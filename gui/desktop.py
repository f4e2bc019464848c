"""``vidcolor-gui --install-desktop``: the app in a Linux desktop's menus and "Open with" lists.

A freedesktop.org desktop entry (``vidcolor.desktop``) and the app's 256x256 icon, written into
the user's data folder ($XDG_DATA_HOME, by default ~/.local/share), each whole or not at all;
``--uninstall-desktop`` removes those two files. ``update-desktop-database`` is run when it is
installed, so that file managers offer the app for the photo and video types it reads; nothing
fails without it. The app is not made the default for any type: that stays the user's choice.

Light: neither Qt nor torch is imported, so installing the entry is instant.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from vidcolor.atomic import atomic_output
from vidcolor.media import PHOTO_SUFFIXES, VIDEO_SUFFIXES

log = logging.getLogger("vidcolor_gui.desktop")

APP_ID = "vidcolor"  # the entry's file name and the icon's name; the app's desktop file name too
EXECUTABLE = "vidcolor-gui"
ICON_SIZE = 256
ICON_FILE = "vidcolor.png"  # in the shipped assets (vidcolor.assets)

# The MIME types (shared-mime-info's names) of every extension vidcolor.media reads; a second name
# where releases of the database differ (.avi, .m4v).
MIME_TYPES: dict[str, tuple[str, ...]] = {
    ".png": ("image/png",), ".jpg": ("image/jpeg",), ".jpeg": ("image/jpeg",), ".tif": ("image/tiff",),
    ".tiff": ("image/tiff",), ".webp": ("image/webp",), ".bmp": ("image/bmp",), ".gif": ("image/gif",),
    ".jp2": ("image/jp2",), ".pgm": ("image/x-portable-graymap",), ".ppm": ("image/x-portable-pixmap",),
    ".pbm": ("image/x-portable-bitmap",), ".pnm": ("image/x-portable-anymap",), ".tga": ("image/x-tga",),
    ".mp4": ("video/mp4",), ".mov": ("video/quicktime",), ".mkv": ("video/x-matroska",),
    ".avi": ("video/x-msvideo", "video/vnd.avi"), ".webm": ("video/webm",), ".m4v": ("video/x-m4v", "video/mp4"),
    ".mpg": ("video/mpeg",), ".mpeg": ("video/mpeg",), ".wmv": ("video/x-ms-wmv",), ".flv": ("video/x-flv",),
    ".ogv": ("video/ogg",),
    ".ts": ("video/mp2t",), ".mts": ("video/mp2t",), ".m2ts": ("video/mp2t",), ".3gp": ("video/3gpp",),
}

# Characters that make an Exec argument need quotes (the Desktop Entry spec's reserved ones).
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def mime_types() -> list[str]:
    """The MIME types of every photo and video extension the app reads, sorted."""
    suffixes = PHOTO_SUFFIXES | VIDEO_SUFFIXES
    missing = sorted(s for s in suffixes if s not in MIME_TYPES)
    if missing:
        raise KeyError(f"no MIME type known for {', '.join(missing)}: add it to MIME_TYPES")
    return sorted({t for s in suffixes for t in MIME_TYPES[s]})


def data_home() -> Path:
    """$XDG_DATA_HOME, or ~/.local/share when it is unset or not absolute (as the spec says)."""
    value = os.environ.get("XDG_DATA_HOME", "")
    return Path(value) if os.path.isabs(value) else Path.home() / ".local" / "share"


@dataclass(frozen=True)
class DesktopFiles:
    entry: Path  # .../applications/vidcolor.desktop
    icon: Path  # .../icons/hicolor/256x256/apps/vidcolor.png


def desktop_files(home: Path | None = None) -> DesktopFiles:
    """Where the entry and the icon go under the data folder ``home`` (default :func:`data_home`)."""
    home = data_home() if home is None else Path(home)
    size = f"{ICON_SIZE}x{ICON_SIZE}"
    return DesktopFiles(home / "applications" / f"{APP_ID}.desktop",
                        home / "icons" / "hicolor" / size / "apps" / f"{APP_ID}.png")


def icon_source() -> Path:
    """The shipped icon: inside the installed package, or the checkout's ``assets/``."""
    import vidcolor

    here = Path(vidcolor.__file__).resolve().parent
    for folder in (here / "assets", here.parent / "assets"):
        if (folder / ICON_FILE).is_file():
            return folder / ICON_FILE
    raise FileNotFoundError(f"the app's icon {ICON_FILE} is not in {here / 'assets'} (a broken install?)")


def find_executable() -> Path:
    """The installed ``vidcolor-gui``: the script this process runs as, else the one of this
    Python's environment (or its per-user scripts folder), else the first on PATH."""
    candidates = []
    if sys.argv and Path(sys.argv[0]).name == EXECUTABLE:
        candidates.append(Path(sys.argv[0]))
    candidates.append(Path(sysconfig.get_path("scripts")) / EXECUTABLE)
    candidates.append(Path(sys.executable).parent / EXECUTABLE)
    try:
        candidates.append(Path(sysconfig.get_path("scripts", sysconfig.get_preferred_scheme("user"))) / EXECUTABLE)
    except (KeyError, ValueError):
        pass
    on_path = shutil.which(EXECUTABLE)
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate.absolute()
    raise FileNotFoundError(f"{EXECUTABLE} was not found beside {sys.executable} nor on PATH: install vidcolor "
                            "with its app (pip install 'vidcolor[gui]') first")


def _escape(value: str) -> str:
    """A string value of a desktop entry (backslash first)."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\r", "\\r")


def exec_argument(arg: str) -> str:
    """One argument of the Exec key: quoted as the spec asks when it holds a reserved character,
    then escaped as every string value is."""
    if "\n" in arg:
        raise ValueError(f"{arg!r}: a path with a line break cannot be put in a desktop entry")
    arg = arg.replace("%", "%%")
    if any(ch in _RESERVED for ch in arg):
        arg = '"' + "".join("\\" + ch if ch in '"`$\\' else ch for ch in arg) + '"'
    return _escape(arg)


def entry_text(executable: Path) -> str:
    """The desktop entry that opens files with ``executable``."""
    lines = [
        "[Desktop Entry]",
        "Type=Application",
        "Version=1.0",
        "Name=vidcolor",
        "GenericName=Photo and Video Colouriser",
        "Comment=Colourise black-and-white photos and videos",
        f"TryExec={_escape(str(executable))}",
        f"Exec={exec_argument(str(executable))} %f",
        f"Icon={APP_ID}",
        "Terminal=false",
        "StartupNotify=true",
        "Categories=Graphics;AudioVideo;",
        f"MimeType={';'.join(mime_types())};",
        "Keywords=colorize;colourise;colorise;black and white;old photo;film;restore;",
    ]
    return "\n".join(lines) + "\n"


def _write(path: Path, data: bytes) -> bool:
    """Write ``path`` whole or not at all; False if it already holds ``data``."""
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)
        os.chmod(tmp, 0o644)
    return True


def _refresh(files: DesktopFiles) -> list[str]:
    """Tell the desktop: the "Open with" cache when ``update-desktop-database`` is installed, and
    the icon theme by its folder's time. Returns the tools run; a missing or failing tool is no error."""
    ran = []
    tool = shutil.which("update-desktop-database")
    if tool is not None:
        command = [tool, "-q", str(files.entry.parent)]
        try:
            done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=60)
            if done.returncode != 0:
                log.warning("%s failed (%d): %s", " ".join(command), done.returncode, done.stderr.strip())
            ran.append("update-desktop-database")
        except (OSError, subprocess.SubprocessError) as e:
            log.warning("%s failed: %s", " ".join(command), e)
    theme = files.icon.parents[2]  # icons/hicolor: icon caches compare their time with its own
    try:
        os.utime(theme)
    except OSError:
        pass
    return ran


def install(home: Path | None = None, executable: Path | None = None) -> DesktopFiles:
    """Write the desktop entry and the icon under ``home`` (default :func:`data_home`); the entry's
    Exec is ``executable`` (default :func:`find_executable`). Running it again changes nothing."""
    files = desktop_files(home)
    executable = find_executable() if executable is None else Path(executable).absolute()
    text = entry_text(executable)  # refused before anything is written
    _write(files.icon, icon_source().read_bytes())  # first: the entry never names a missing icon
    _write(files.entry, text.encode())
    _refresh(files)
    return files


def uninstall(home: Path | None = None) -> list[Path]:
    """Remove what :func:`install` wrote under ``home``; returns the files removed."""
    files = desktop_files(home)
    removed = []
    for path in (files.entry, files.icon):
        try:
            path.unlink()
            removed.append(path)
        except FileNotFoundError:
            pass
    if removed:
        _refresh(files)
        # The "Open with" cache that update-desktop-database made for the entry alone: empty now.
        cache = files.entry.parent / "mimeinfo.cache"
        try:
            if cache.read_text().split() == ["[MIME", "Cache]"]:
                cache.unlink()
        except (OSError, UnicodeDecodeError):
            pass
    return removed


def run(install_it: bool) -> int:
    """``vidcolor-gui --install-desktop`` / ``--uninstall-desktop``: do it and say what was done."""
    if sys.platform in ("win32", "darwin"):
        print(f"{EXECUTABLE}: error: desktop entries are for Linux and BSD desktops (freedesktop.org)",
              file=sys.stderr)
        return 2
    try:
        if install_it:
            files = install()
            print(f"installed: {files.entry}\n           {files.icon}\n"
                  f"vidcolor is in the desktop's menu (Graphics) and in \"Open with\" for photos and videos; "
                  f"{EXECUTABLE} --uninstall-desktop removes it")
        else:
            removed = uninstall()
            print("removed: " + "\n         ".join(map(str, removed)) if removed
                  else f"nothing to remove: {desktop_files().entry} is not there")
    except (OSError, ValueError, KeyError) as e:
        print(f"{EXECUTABLE}: error: {e}", file=sys.stderr)
        return 2
    return 0
