"""Background work: everything slow (decoding, colourising, writing) runs off the GUI thread.

``Engine`` owns the one thread that may use the interactive Colorizer (a Colorizer is not
thread-safe, so its jobs are serialised). Jobs carry a key; a new job replaces a pending job of
the same key and cancels a running one, and results of replaced jobs are dropped. That gives
"latest request wins" for scrubbing and settings changes without any timers in the workers.

``TaskThread`` runs one long job (a video render) on its own thread, with its own Colorizer.

Results cross to the GUI thread as queued Qt signals; cancellation is cooperative through a
``threading.Event`` that the work checks.
"""

from __future__ import annotations

import itertools
import logging
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable

import shiboken6
from PySide6.QtCore import QObject, QThread, Signal

from vidcolor.errors import Cancelled, VidcolorError

log = logging.getLogger("vidcolor.gui")

_threads: "weakref.WeakSet[QThread]" = weakref.WeakSet()


def running_threads() -> list[QThread]:
    """Worker threads of this module still running (the tests check none outlive a window)."""
    return [t for t in list(_threads) if shiboken6.isValid(t) and t.isRunning()]


class ModelUnavailable(RuntimeError):
    """Colourising was asked for but the model could not be loaded."""


@dataclass
class Job:
    key: str
    fn: Callable[["JobContext"], Any]
    id: int = 0
    cancel: threading.Event = field(default_factory=threading.Event)


class JobContext:
    """What a job function sees: the colorizer, its cancel flag, and a way to send partial results."""

    def __init__(self, thread: "EngineThread | TaskThread", job: Job):
        self._thread = thread
        self._job = job
        self.cancel = job.cancel

    @property
    def colorizer(self):
        c = self._thread.colorizer
        if c is None:
            raise ModelUnavailable(self._thread.model_error or "The colourisation model is not loaded yet.")
        return c

    def set_colorizer(self, colorizer, error: str | None = None) -> None:
        self._thread.colorizer = colorizer
        self._thread.model_error = error

    def frame_reader(self, path):
        """The thread's open :class:`~vidcolor.video.reader.FrameReader` for ``path`` (one file at a time),
        so that scrubbing and stepping do not reopen the file and seek for every frame."""
        from vidcolor.video.reader import FrameReader

        reader = self._thread.frame_reader
        if reader is None or reader.path != path:
            self.close_frame_reader()
            self._thread.frame_reader = FrameReader(path)
        return self._thread.frame_reader

    def close_frame_reader(self) -> None:
        close_reader(self._thread)

    def partial(self, value: Any) -> None:
        self._thread.jobPartial.emit(self._job.id, value)

    def cancelled(self) -> bool:
        return self.cancel.is_set()


def close_reader(thread) -> None:
    if thread.frame_reader is not None:
        thread.frame_reader.close()
        thread.frame_reader = None


def _run_job(thread, job: Job) -> None:
    try:
        result = job.fn(JobContext(thread, job))
    except BaseException as e:  # noqa: BLE001 - every failure must reach the GUI, not kill the thread
        if not _expected(e):
            log.exception("job %s failed", job.key)
        thread.jobFailed.emit(job.id, e)
    else:
        thread.jobFinished.emit(job.id, result)


def _expected(e: BaseException) -> bool:
    # User-facing errors (bad file, cancelled, disk full) carry their own message; others are bugs.
    return isinstance(e, (VidcolorError, ValueError, OSError, ModelUnavailable, MemoryError))


class EngineThread(QThread):
    jobFinished = Signal(int, object)
    jobFailed = Signal(int, object)
    jobPartial = Signal(int, object)
    jobStarted = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("vidcolor-engine")
        self.colorizer = None
        self.model_error: str | None = None
        self.frame_reader = None
        self._cond = threading.Condition()
        self._pending: list[Job] = []
        self._current: Job | None = None
        self._stopping = False
        _threads.add(self)

    def submit(self, job: Job) -> list[int]:
        """Queue ``job``; returns the ids of the jobs it superseded."""
        with self._cond:
            dropped = [j.id for j in self._pending if j.key == job.key]
            self._pending = [j for j in self._pending if j.key != job.key]
            if self._current is not None and self._current.key == job.key:
                self._current.cancel.set()
                dropped.append(self._current.id)
            self._pending.append(job)
            self._cond.notify()
        return dropped

    def cancel_key(self, key: str) -> list[int]:
        with self._cond:
            dropped = [j.id for j in self._pending if j.key == key]
            self._pending = [j for j in self._pending if j.key != key]
            if self._current is not None and self._current.key == key:
                self._current.cancel.set()
                dropped.append(self._current.id)
        return dropped

    def request_stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._pending.clear()
            if self._current is not None:
                self._current.cancel.set()
            self._cond.notify()

    def run(self) -> None:
        try:
            self._serve()
        finally:
            close_reader(self)

    def _serve(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                job = self._current = self._pending.pop(0)
            self.jobStarted.emit(job.id)
            try:
                _run_job(self, job)
            finally:
                with self._cond:
                    self._current = None


class Engine(QObject):
    """GUI-side handle of the engine thread: submit work, get callbacks on the GUI thread."""

    busyChanged = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._callbacks: dict[int, tuple[Callable | None, Callable | None, Callable | None]] = {}
        self._thread = EngineThread()
        self._thread.jobFinished.connect(self._on_finished)
        self._thread.jobFailed.connect(self._on_failed)
        self._thread.jobPartial.connect(self._on_partial)
        self._thread.start()
        self._busy = False

    @property
    def thread(self) -> EngineThread:
        return self._thread

    def submit(self, key: str, fn: Callable[[JobContext], Any], on_done: Callable | None = None,
               on_error: Callable | None = None, on_partial: Callable | None = None) -> int:
        job = Job(key, fn, next(self._ids))
        self._callbacks[job.id] = (on_done, on_error, on_partial)
        for stale in self._thread.submit(job):
            self._callbacks.pop(stale, None)
        self._update_busy()
        return job.id

    def cancel(self, key: str) -> None:
        for stale in self._thread.cancel_key(key):
            self._callbacks.pop(stale, None)
        self._update_busy()

    def is_busy(self) -> bool:
        return bool(self._callbacks)

    def shutdown(self, timeout_ms: int = 60_000) -> bool:
        """Stop after the running job (cancelled where it can be); True when the thread has ended."""
        self._callbacks.clear()
        self._thread.request_stop()
        ended = self._thread.wait(timeout_ms)
        self._update_busy()
        return ended

    def _on_finished(self, job_id: int, result: Any) -> None:
        on_done, _, _ = self._callbacks.pop(job_id, (None, None, None))
        self._update_busy()
        if on_done is not None:
            on_done(result)

    def _on_failed(self, job_id: int, error: BaseException) -> None:
        known = job_id in self._callbacks
        _, on_error, _ = self._callbacks.pop(job_id, (None, None, None))
        self._update_busy()
        if on_error is not None:
            on_error(error)
        elif known and not isinstance(error, Cancelled):
            log.error("unhandled job error: %s", error)

    def _on_partial(self, job_id: int, value: Any) -> None:
        callbacks = self._callbacks.get(job_id)
        if callbacks and callbacks[2] is not None:
            callbacks[2](value)

    def _update_busy(self) -> None:
        busy = bool(self._callbacks)
        if busy != self._busy:
            self._busy = busy
            self.busyChanged.emit(busy)


class TaskThread(QThread):
    """One long job on a thread of its own (a render), with its own colorizer."""

    jobFinished = Signal(int, object)
    jobFailed = Signal(int, object)
    jobPartial = Signal(int, object)

    def __init__(self, fn: Callable[[JobContext], Any], colorizer=None, parent=None):
        super().__init__(parent)
        self.setObjectName("vidcolor-task")
        self.colorizer = colorizer
        self.model_error = None
        self.frame_reader = None
        self.job = Job("task", fn, 0)
        _threads.add(self)

    @property
    def cancel_event(self) -> threading.Event:
        return self.job.cancel

    def cancel(self) -> None:
        self.job.cancel.set()

    def run(self) -> None:
        try:
            _run_job(self, self.job)
        finally:
            close_reader(self)
