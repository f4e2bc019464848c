"""``vidcolor-gui [FILE]``: the desktop app's entry point."""

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
    return app


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv if argv is None else [sys.argv[0], *argv]
    args = build_parser().parse_args(argv[1:])
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    app = create_application(argv[:1])

    from .main_window import MainWindow

    window = MainWindow(model_path=args.model)
    window.show()
    if args.file is not None:
        window.open_path(args.file)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
