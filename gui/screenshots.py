"""Regenerate the README screenshots from the real window (works headless).

    QT_QPA_PLATFORM=offscreen python -m vidcolor_gui.screenshots PHOTO VIDEO [--out docs]

PHOTO: a black-and-white photo; VIDEO: a black-and-white clip. The video shot is taken while a
render is in progress; that render goes to a temporary folder and is cancelled afterwards.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

WINDOW_SIZE = (1440, 900)


def _wait(app, condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.01)


def _settle(app, seconds: float = 0.3) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("photo", type=Path)
    ap.add_argument("video", type=Path)
    ap.add_argument("--out", type=Path, default=Path("docs"))
    ap.add_argument("--size", type=int, default=224, help="render size used for the shots")
    args = ap.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtCore import QSettings

    from .app import create_application
    from .main_window import MainWindow

    app = create_application(sys.argv[:1])
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        # A throwaway settings file: the shots show defaults, and the user's own stay untouched.
        store = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        store.setValue("render/size", args.size)
        window = MainWindow(store=store)
        window.resize(*WINDOW_SIZE)
        window.show()
        _wait(app, lambda: window._model_ready, 120, "the model")

        window.open_path(args.photo)
        _wait(app, lambda: window.doc is not None and window.has_result() and not window.engine.is_busy(),
              300, "the photo")
        window.view.set_split(0.5)
        _settle(app)
        window.grab().save(str(args.out / "screenshot-photo.png"))

        window.open_path(args.video)
        panel = window.video_panel
        _wait(app, lambda: panel.video is not None and panel.shown_frame() == 0, 120, "the video")
        panel.seek(int(panel.frame_count() * 0.4))
        _wait(app, lambda: panel.shown_frame() == panel.position() and not window.engine.is_busy(), 120,
              "the scrubbed frame")
        window.render_video(Path(tmp) / f"{args.video.stem}_colour.mp4")
        bar = window.render_bar
        _wait(app, lambda: bar.is_running() and bar.progress.maximum() > 0
              and bar.progress.value() >= bar.progress.maximum() * 0.15, 600, "render progress")
        _settle(app)
        window.grab().save(str(args.out / "screenshot-video.png"))
        bar.cancel_and_wait()
        window.close()
    print(f"wrote {args.out / 'screenshot-photo.png'} and {args.out / 'screenshot-video.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
