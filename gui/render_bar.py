"""A full video render on its own thread, and the strip under the image that reports on it."""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QToolButton

from vidcolor.errors import Cancelled
from vidcolor.settings import RenderSettings
from vidcolor.video.options import VideoOptions

from . import jobs
from .video_panel import format_time
from .workers import TaskThread


class RenderBar(QFrame):
    errorOccurred = Signal(object, str)
    runningChanged = Signal(bool)
    rendered = Signal(object)  # VideoReport
    loadRequested = Signal(object)  # Path of the rendered file

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("RenderBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._thread: TaskThread | None = None
        self._output: Path | None = None
        self._started = 0.0
        self.last_report = None

        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setMinimumWidth(220)
        self.stats = QLabel()
        widest = "00000/00000 frames · 000.0 fps · ETA 0:00:00"  # fixed width: no jitter as numbers change
        self.stats.setMinimumWidth(self.stats.fontMetrics().horizontalAdvance(widest) + 8)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.open_button = QPushButton("Open rendered file")
        self.open_button.clicked.connect(self.open_output)
        self.load_button = QPushButton("Show in vidcolor")
        self.load_button.clicked.connect(lambda: self._output and self.loadRequested.emit(self._output))
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setToolTip("Dismiss")
        self.close_button.setAutoRaise(True)
        self.close_button.clicked.connect(self.hide)
        for b in (self.cancel_button, self.open_button, self.load_button, self.close_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        lay = QHBoxLayout(self)
        lay.setContentsMargins(12, 8, 8, 8)
        lay.setSpacing(10)
        lay.addWidget(self.title, 1)
        lay.addWidget(self.progress, 2)
        lay.addWidget(self.stats)
        lay.addWidget(self.cancel_button)
        lay.addWidget(self.open_button)
        lay.addWidget(self.load_button)
        lay.addWidget(self.close_button)
        self.hide()

    def is_running(self) -> bool:
        return self._thread is not None

    def output(self) -> Path | None:
        return self._output

    def start(self, src: Path, dst: Path, model, device: str, settings: RenderSettings, options: VideoOptions,
              hints=(), references=()) -> None:
        if self._thread is not None:
            raise RuntimeError("a render is already running")
        self._output = Path(dst)
        self._started = time.monotonic()
        self.last_report = None
        thread = TaskThread(partial(jobs.render_video, src=Path(src), dst=self._output, model=model, device=device,
                                    settings=settings, options=options, hints=tuple(hints),
                                    references=tuple(references)))
        thread.jobPartial.connect(lambda _id, info: self._on_progress(info))
        thread.jobFinished.connect(lambda _id, report: self._on_done(report))
        thread.jobFailed.connect(lambda _id, error: self._on_failed(error))
        self._thread = thread
        self.title.setText(f"Rendering {Path(src).name} → {self._output.name}")
        self.title.setToolTip(str(self._output))
        self.progress.setRange(0, 0)  # busy until the first frame reports a total
        self.stats.setText("starting…")
        self._show_buttons(running=True)
        self.cancel_button.setEnabled(True)
        self.show()
        thread.start()
        self.runningChanged.emit(True)

    def cancel(self) -> None:
        if self._thread is not None:
            self._thread.cancel()
            self.cancel_button.setEnabled(False)
            self.stats.setText("cancelling…")

    def cancel_and_wait(self, timeout_ms: int = 30_000) -> bool:
        """Cancel and block until the thread has ended (closing the window)."""
        thread = self._thread
        if thread is None:
            return True
        thread.cancel()
        ended = thread.wait(timeout_ms)
        if ended:
            self._release(thread)
            self.runningChanged.emit(False)
        return ended

    def open_output(self) -> None:
        if self._output is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._output)))

    def _on_progress(self, info) -> None:
        if self._thread is None:
            return
        if info.total:
            self.progress.setRange(0, info.total)
            self.progress.setValue(min(info.done, info.total))
            frames = f"{info.done}/{info.total} frames"
        else:
            frames = f"{info.done} frames"
        eta = f" · ETA {format_time(info.eta, precise=False)}" if info.eta is not None else ""
        resumed = f" · resumed after {info.resumed}" if info.resumed else ""
        self.stats.setText(f"{frames}{resumed} · {info.fps:.1f} fps{eta}")

    def _release(self, thread: TaskThread) -> None:
        # The result signal is sent from inside run(); wait for run() to return before the
        # thread object may be dropped, or Qt aborts on destroying a running thread.
        thread.wait()
        if self._thread is thread:
            self._thread = None

    def _on_done(self, report) -> None:
        if self._thread is None:
            return
        self._release(self._thread)
        self.last_report = report
        self._output = Path(report.output)
        elapsed = format_time(report.seconds or time.monotonic() - self._started, precise=False)
        damaged = f", {report.damaged} damaged frames repaired" if report.damaged else ""
        self.title.setText(f"Rendered {report.frames} frames in {elapsed}{damaged} → {self._output.name}")
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.stats.setText("done")
        self._show_buttons(running=False, done=True)
        self.runningChanged.emit(False)
        self.rendered.emit(report)

    def _on_failed(self, error) -> None:
        if self._thread is None:
            return
        self._release(self._thread)
        cancelled = isinstance(error, Cancelled)
        self.title.setText("Render cancelled; no file was written." if cancelled else "Render failed.")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.stats.setText("")
        self._show_buttons(running=False, done=False)
        self.runningChanged.emit(False)
        if not cancelled:
            self.errorOccurred.emit(error, "render the video")

    def _show_buttons(self, running: bool, done: bool = False) -> None:
        self.progress.setVisible(running)
        self.stats.setVisible(running)
        self.cancel_button.setVisible(running)
        self.open_button.setVisible(done)
        self.load_button.setVisible(done)
        self.close_button.setVisible(not running)
