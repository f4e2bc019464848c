"""``vidcolor-gui --install-desktop`` / ``--uninstall-desktop``: a freedesktop.org entry and icon in a
temporary $XDG_DATA_HOME, written by the installed script itself; neither Qt nor torch loads."""

from __future__ import annotations

import configparser
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from vidcolor.media import PHOTO_SUFFIXES, VIDEO_SUFFIXES
from vidcolor_gui import desktop

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(sys.executable).parent / "vidcolor-gui"  # the installed entry point of this environment


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def read_entry(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive
    parser.read_string(path.read_text(encoding="utf-8"))
    assert parser.sections() == ["Desktop Entry"]
    return dict(parser["Desktop Entry"])


def exec_split(value: str) -> list[str]:
    """An Exec value's arguments as the Desktop Entry spec reads them: string escapes first (a
    doubled backslash is one), then arguments split at spaces; inside double quotes a backslash
    makes the next double quote, backquote, dollar or backslash literal."""
    value = value.replace("\\\\", "\\")
    args, i = [], 0
    while i < len(value):
        if value[i] == " ":
            i += 1
            continue
        if value[i] == '"':
            arg, i = "", i + 1
            while value[i] != '"':
                if value[i] == "\\" and value[i + 1] in '"`$\\':
                    i += 1
                arg += value[i]
                i += 1
            args.append(arg)
            i += 1
        else:
            end = value.find(" ", i)
            end = len(value) if end < 0 else end
            args.append(value[i:end])
            i = end
    return args


def gui_script(data_home: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the installed ``vidcolor-gui`` with ``args``, its data folder ``data_home`` and a PATH
    without the desktop's tools."""
    if not SCRIPT.is_file():
        pytest.skip(f"{SCRIPT} is not installed (pip install -e '.[gui]')")
    empty = data_home.parent / "empty-bin"
    empty.mkdir(exist_ok=True)
    env = {**os.environ, "XDG_DATA_HOME": str(data_home), "PATH": str(empty)}
    return subprocess.run([str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=120)


def test_every_extension_the_app_reads_has_a_mime_type():
    types = desktop.mime_types()
    assert {"image/jpeg", "image/png", "image/tiff", "image/webp", "video/mp4", "video/quicktime",
            "video/x-matroska", "video/webm"} <= set(types)
    assert all(s in desktop.MIME_TYPES for s in PHOTO_SUFFIXES | VIDEO_SUFFIXES)
    assert all(t.startswith(("image/", "video/")) for t in types)


def test_install_writes_a_valid_entry_and_the_icon_and_twice_changes_nothing(tmp_path):
    home = tmp_path / "share"
    done = gui_script(home, "--install-desktop")
    assert done.returncode == 0, done.stderr
    assert "installed:" in done.stdout and "--uninstall-desktop" in done.stdout
    assert files_under(home) == ["applications/vidcolor.desktop", "icons/hicolor/256x256/apps/vidcolor.png"]

    entry = read_entry(home / "applications" / "vidcolor.desktop")
    assert entry["Type"] == "Application" and entry["Name"] == "vidcolor" and entry["Terminal"] == "false"
    command = exec_split(entry["Exec"])
    assert command == [str(SCRIPT), "%f"]  # the installed script, absolute, given one file
    assert entry["TryExec"] == str(SCRIPT)
    assert entry["Icon"] == "vidcolor"
    assert entry["Categories"] == "Graphics;AudioVideo;"
    assert entry["MimeType"].endswith(";")
    mime = entry["MimeType"].rstrip(";").split(";")
    assert {"image/jpeg", "image/png", "video/mp4"} <= set(mime) and mime == desktop.mime_types()
    icon = home / "icons" / "hicolor" / "256x256" / "apps" / "vidcolor.png"
    with Image.open(icon) as im:
        assert im.format == "PNG" and im.size == (256, 256)
    assert icon.read_bytes() == (ROOT / "assets" / "vidcolor.png").read_bytes()

    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in home.rglob("*") if p.is_file()}
    again = gui_script(home, "--install-desktop")
    assert again.returncode == 0, again.stderr
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in home.rglob("*") if p.is_file()} == before


def test_uninstall_removes_exactly_what_install_wrote(tmp_path):
    home = tmp_path / "share"
    (home / "applications").mkdir(parents=True)
    (home / "applications" / "other.desktop").write_text("[Desktop Entry]\nType=Application\nName=other\n")
    assert gui_script(home, "--install-desktop").returncode == 0
    done = gui_script(home, "--uninstall-desktop")
    assert done.returncode == 0, done.stderr
    assert "vidcolor.desktop" in done.stdout and "vidcolor.png" in done.stdout
    assert files_under(home) == ["applications/other.desktop"]
    again = gui_script(home, "--uninstall-desktop")
    assert again.returncode == 0 and "nothing to remove" in again.stdout


def test_install_loads_neither_qt_nor_torch(tmp_path):
    code = ("import sys\n"
            "from vidcolor_gui.app import main\n"
            "assert main(['--install-desktop']) == 0\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'PySide6', 'shiboken6'))\n"
            "assert not bad, bad[:10]\n")
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "share")}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "share" / "applications" / "vidcolor.desktop").is_file()


def test_desktop_file_validate_accepts_the_entry(tmp_path):
    validate = shutil.which("desktop-file-validate")
    if validate is None:
        pytest.skip("desktop-file-validate is not installed")
    files = desktop.install(tmp_path / "share", executable=Path("/opt/my apps/vidcolor-gui"))
    done = subprocess.run([validate, str(files.entry)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "error" not in done.stdout.lower(), done.stdout + done.stderr


def test_the_desktop_database_is_updated_when_its_tool_is_there_and_a_failing_tool_fails_nothing(
        tmp_path, monkeypatch):
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.txt"
    bin_dir.mkdir()
    tool = bin_dir / "update-desktop-database"
    tool.write_text(f'#!/bin/sh\necho "$@" >> {shlex.quote(str(log))}\necho broken >&2\nexit 3\n')
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    home = tmp_path / "share"
    files = desktop.install(home, executable=tmp_path / "vidcolor-gui")
    assert files.entry.is_file() and files.icon.is_file()
    assert desktop.uninstall(home) == [files.entry, files.icon]
    assert log.read_text().splitlines() == [f"-q {home / 'applications'}"] * 2


def test_an_odd_executable_path_is_quoted_in_exec(tmp_path):
    exe = "/opt/my apps/50% $off/vidcolor-gui"
    files = desktop.install(tmp_path / "share", executable=Path(exe))
    entry = read_entry(files.entry)
    assert exec_split(entry["Exec"]) == [exe.replace("%", "%%"), "%f"]  # %% is a literal %
    assert entry["TryExec"] == exe


def test_a_relative_xdg_data_home_is_ignored(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", "relative/share")
    assert desktop.data_home() == tmp_path / ".local" / "share"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "abs"))
    assert desktop.desktop_files().entry == tmp_path / "abs" / "applications" / "vidcolor.desktop"


def test_with_the_real_desktop_tools_uninstall_leaves_no_cache_of_its_own(tmp_path):
    if shutil.which("update-desktop-database") is None:
        pytest.skip("update-desktop-database is not installed")
    home = tmp_path / "share"
    files = desktop.install(home, executable=tmp_path / "vidcolor-gui")
    cache = home / "applications" / "mimeinfo.cache"
    assert "video/mp4=vidcolor.desktop;" in cache.read_text()
    desktop.uninstall(home)
    assert files_under(home) == [] and not files.entry.exists()
