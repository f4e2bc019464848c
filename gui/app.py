"""``vidcolor-gui [FILE]``: the desktop app's entry point; ``vidcolor-gui --install-desktop`` puts it
in a Linux desktop's menus (see :mod:`vidcolor_gui.desktop`)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from vidcolor.threads import let_waiting_threads_sleep

ORGANIZATION = "vidcolor"
APPLICATION = "vidcolor"


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="vidcolor-gui", description="Colourise black-and-white photos and videos.")
    ap.add_argument("file", nargs="?", type=Path, help="photo or video to open")
    ap.add_argument("--model", type=Path, help="weights file (default: the shipped model)")
    desktop = ap.add_mutually_exclusive_group()
    desktop.add_argument("--install-desktop", action="store_true",
                         help="add the app to this Linux desktop's menu and to \"Open with\" for photos and videos "
                              "(a .desktop entry and an icon in $XDG_DATA_HOME, default ~/.local/share), then exit")
    desktop.add_argument("--uninstall-desktop", action="store_true",
                         help="remove what --install-desktop wrote, then exit")
    return ap


def create_application(argv: list[str]):
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    let_waiting_threads_sleep()  # torch loads after this, in the first job
    app = QApplication.instance()
    if app is not None:
        return app
    # Fractional scale factors (125%, 150%) are used as they are rather than rounded, so the
    # compare view can map image pixels to device pixels exactly.
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)
    app = QApplication(argv)
    app.setApplicationDisplayName("vidcolor")
    app.setStyle("Fusion")
    _set_icon(app)
    return app


def _set_icon(app) -> None:
    """The window icon, and the desktop entry that --install-desktop writes (the desktop's icon and
    name for the window)."""
    from PySide6.QtGui import QGuiApplication, QIcon

    from .desktop import APP_ID, icon_source

    QGuiApplication.setDesktopFileName(APP_ID)
    try:
        app.setWindowIcon(QIcon(str(icon_source())))
    except FileNotFoundError:
        pass


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv if argv is None else [sys.argv[0], *argv]
    parser = build_parser()
    args = parser.parse_args(argv[1:])
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    if args.install_desktop or args.uninstall_desktop:
        if args.file is not None:
            parser.error("--install-desktop and --uninstall-desktop take no FILE")
        from .desktop import run  # neither Qt nor torch

        return run(install_it=args.install_desktop)
    app = create_application(argv[:1])

    from .main_window import MainWindow

    window = MainWindow(model_path=args.model)
    window.show()
    if args.file is not None:
        window.open_path(args.file)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
