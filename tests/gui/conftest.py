"""Fixtures for driving the real window offscreen: tiny media, a shared small model, a private
settings store, message boxes that record instead of blocking, and a check that no worker
thread outlives its test."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

import threading
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QCoreApplication, QSettings  # noqa: E402
from PySide6.QtWidgets import QFileDialog, QMessageBox  # noqa: E402

from vidcolor_gui import workers  # noqa: E402

RENDER_SIZE = 64  # the engine's smallest render size keeps every colourisation fast


@pytest.fixture(scope="session", autouse=True)
def _private_settings(tmp_path_factory):
    # Anything that falls back to the default QSettings lands in a throwaway folder, never in
    # the user's real configuration.
    QCoreApplication.setOrganizationName("vidcolor-tests")
    QCoreApplication.setApplicationName("vidcolor-gui-tests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                      str(tmp_path_factory.mktemp("qsettings")))


@pytest.fixture(scope="session")
def colorizer():
    import torch

    from vidcolor.engine import Colorizer

    # One intra-op thread: the test machine is small and often shared with other work, where a
    # pool of spinning threads makes each tiny inference much slower, not faster.
    torch.set_num_threads(1)
    return Colorizer.from_pretrained(device="cpu", size=RENDER_SIZE)


@pytest.fixture
def store(tmp_path):
    s = QSettings(str(tmp_path / "vidcolor-gui.ini"), QSettings.Format.IniFormat)
    s.setValue("render/size", RENDER_SIZE)
    s.setValue("render/device", "cpu")
    s.sync()
    return s


class Dialogs:
    """Stand-ins for the modal dialogs: record what would have been shown, answer as told."""

    def __init__(self):
        self.errors: list[tuple[str, str]] = []
        self.questions: list[str] = []
        self.answer = QMessageBox.StandardButton.Yes
        self.save_path: str = ""
        self.open_path: str = ""


@pytest.fixture
def dialogs(monkeypatch):
    d = Dialogs()

    def critical(parent, title, text, *args, **kwargs):
        d.errors.append((title, text))
        return QMessageBox.StandardButton.Ok

    def question(parent, title, text, *args, **kwargs):
        d.questions.append(text)
        return d.answer

    monkeypatch.setattr(QMessageBox, "critical", staticmethod(critical))
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(critical))
    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (d.save_path, "")))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (d.open_path, "")))
    return d


@pytest.fixture
def window(qtbot, colorizer, store, dialogs):
    from vidcolor_gui.main_window import MainWindow

    win = MainWindow(colorizer=colorizer, store=store)
    qtbot.addWidget(win)
    win.resize(900, 600)
    win.show()
    qtbot.waitUntil(lambda: win._model_ready or bool(dialogs.errors), timeout=10_000)
    assert win._model_ready, dialogs.errors
    yield win
    win.close()


@pytest.fixture(autouse=True)
def no_worker_left_running():
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        qthreads = workers.running_threads()
        # The engine's own decode/encode threads are daemons; they count as leaks all the same.
        extra = [t for t in threading.enumerate() if t not in before and t.is_alive()
                 and (not t.daemon or t.name.startswith("vidcolor"))]
        if not qthreads and not extra:
            return
        time.sleep(0.05)
    pytest.fail(f"worker threads still running after the test: {qthreads + extra}")


# -- media -----------------------------------------------------------------------------------------
@pytest.fixture
def gray_png(tmp_path) -> Path:
    y, x = np.mgrid[0:48, 0:80]
    gray = ((x * 3 + y * 2) % 256).astype(np.uint8)
    path = tmp_path / "gradient.png"
    Image.fromarray(gray, "L").save(path)
    return path


def make_video(path: Path, frames: int = 24, size=(96, 64), fps: int = 24, audio: bool = True,
               codec: str = "mpeg4") -> Path:
    import av

    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        astream = out.add_stream("aac", rate=48000) if audio else None
        for i in range(frames):
            v = ((x * 2 + y + i * 6) % 200 + 28).astype(np.uint8)
            rgb = np.dstack([v, v, np.clip(v.astype(int) + 4, 0, 255).astype(np.uint8)])  # gray-ish
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
        if astream is not None:
            n = 48000 * frames // fps
            t = np.arange(n) / 48000
            tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
            frame = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
            frame.sample_rate = 48000
            frame.pts = 0
            frame.time_base = Fraction(1, 48000)
            for packet in astream.encode(frame):
                out.mux(packet)
            for packet in astream.encode():
                out.mux(packet)
    return path


@pytest.fixture
def video_factory():
    return make_video


@pytest.fixture
def small_video(tmp_path) -> Path:
    return make_video(tmp_path / "clip.mp4")
