"""Scrubbing a video and previewing a short range colourised, before a full render."""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QStyle, QStyleOptionSlider, QToolButton, QWidget

from vidcolor.errors import Cancelled

from . import jobs
from .compare_view import CompareView
from .workers import Engine

SCRUB_MAX_SIDE = 1280  # scrub frames are shown reduced: colour at this size comes back quickly
PREVIEW_SECONDS = 3.0
PREVIEW_MAX_SIDE = 480
SCRUB_INTERVAL_MS = 40  # at most this often a new frame is asked for while the playhead moves


def format_time(seconds: float, precise: bool = True) -> str:
    seconds = max(0.0, seconds)
    m, s = divmod(seconds, 60)
    h, m = divmod(int(m), 60)
    text = f"{h}:{m:02d}:" if h else f"{m}:"
    return text + (f"{s:05.2f}" if precise else f"{int(s):02d}")


def _pen(colour: QColor, width: float) -> QPen:
    pen = QPen(colour, width)
    pen.setCapStyle(Qt.PenCapStyle.FlatCap)
    return pen


class Timeline(QSlider):
    """The playhead's slider, with a small tick in each hint's colour under the frames that carry
    colour hints."""

    TICK = 5  # logical pixels: how far a tick reaches up from the bottom edge

    def __init__(self, parent=None):
        super().__init__(Qt.Orientation.Horizontal, parent)
        self._marks: list[tuple[int, str]] = []  # (frame index, colour)
        self.setMinimumHeight(self.sizeHint().height() + self.TICK)

    def set_marks(self, marks: list[tuple[int, str]]) -> None:
        self._marks = sorted(set(marks))
        self.update()

    def marks(self) -> list[int]:
        """The frames marked, in order."""
        return sorted({frame for frame, _ in self._marks})

    def mark_x(self, frame: int) -> float:
        """Where the tick of ``frame`` is drawn, in widget pixels."""
        return self._placer()(frame)

    def _placer(self):
        """frame -> x, with the slider's geometry looked up once for all the marks of a paint."""
        opt = QStyleOptionSlider()
        self.initStyleOption(opt)
        style = self.style()
        groove = style.subControlRect(QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderGroove, self)
        handle = style.subControlRect(QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderHandle, self)
        span, lo, hi, left = groove.width() - handle.width(), self.minimum(), self.maximum(), groove.x()
        return lambda frame: left + handle.width() / 2 + QStyle.sliderPositionFromValue(
            lo, hi, frame, span, opt.upsideDown)

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if not self._marks:
            return
        place = self._placer()
        outline, bottom = _pen(QColor(0, 0, 0, 180), 4), self.height() - 1.0
        p = QPainter(self)
        try:
            for frame, colour in self._marks:
                x = place(frame)
                for pen, top in ((outline, bottom - self.TICK), (_pen(QColor(colour), 2), bottom - self.TICK + 1)):
                    p.setPen(pen)
                    p.drawLine(QPointF(x, top), QPointF(x, bottom))
        finally:
            p.end()


class VideoPanel(QWidget):
    errorOccurred = Signal(object, str)  # exception, what was being done
    renderRequested = Signal()
    previewRunningChanged = Signal(bool)
    # The frame on screen, where hints are placed: (its own time, image points per display pixel
    # of the video), or None while there is none (a preview plays, nothing is open).
    frameShown = Signal(object)

    def __init__(self, engine: Engine, view: CompareView, settings_getter, parent=None):
        super().__init__(parent)
        self._engine = engine
        self._view = view
        self._settings = settings_getter
        self._video: jobs.OpenedVideo | None = None
        self._frames = 0
        self._fps = 25.0
        self._previewing = False
        self._shown_key = None  # (frame index, render key) of the pair on screen
        self._shown_at: tuple[int, float] | None = None  # (frame index, its own time) of the picture on screen
        self.preview_shown = 0  # frames shown by the last preview
        self._hints: tuple = ()  # the video's colour hints (vidcolor.hints.Hint), each at its frame's time
        self._references: tuple = ()  # its reference photos (vidcolor.reference.Reference)

        style = self.style()
        self.preview_button = QToolButton()
        self.preview_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.preview_button.setToolTip(f"Play {PREVIEW_SECONDS:g} s from the playhead colourised, at reduced size")
        self.preview_button.clicked.connect(self.toggle_preview)
        self.preview_button.setMinimumWidth(  # the label changes to "Stop": keep the layout still
            self.preview_button.fontMetrics().horizontalAdvance(f"Preview {PREVIEW_SECONDS:g} s") + 40)
        self.timeline = Timeline()
        self.timeline.setToolTip("Drag to scrub; the frame under the playhead is shown before and after. "
                                 "Ticks below mark frames with colour hints: click the picture to add one")
        self.timeline.valueChanged.connect(self._on_scrub)
        self.time_label = QLabel()
        self.time_label.setMinimumWidth(self.time_label.fontMetrics().horizontalAdvance("0:00:00.00 / 0:00:00") + 8)
        self.time_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.render_button = QToolButton()
        self.render_button.setText("Render video…")
        self.render_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_DialogSaveButton))
        self.render_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.render_button.setToolTip("Colourise the whole video into a new file (Ctrl+R)")
        self.render_button.clicked.connect(self.renderRequested)
        for b in (self.preview_button, self.render_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keep Space for the before/after toggle

        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 6, 10, 6)
        lay.setSpacing(10)
        lay.addWidget(self.preview_button)
        lay.addWidget(self.timeline, 1)
        lay.addWidget(self.time_label)
        lay.addSpacing(6)
        lay.addWidget(self.render_button)

        self._scrub_timer = QTimer(self, singleShot=True, interval=SCRUB_INTERVAL_MS)
        self._scrub_timer.timeout.connect(self.request_frame)
        self._set_preview_state(False)

    # -- state ---------------------------------------------------------------------------------------
    @property
    def video(self) -> jobs.OpenedVideo | None:
        return self._video

    def frame_count(self) -> int:
        return self._frames

    def fps(self) -> float:
        return self._fps

    def shown_frame(self) -> int | None:
        """Index of the frame whose before/after pair is on screen at full scrub size."""
        return None if self._shown_key is None else self._shown_key[0]

    def position(self) -> int:
        return self.timeline.value()

    def position_seconds(self) -> float:
        """The playhead's time: the shown frame's own time once it is on screen (saving then saves
        exactly that frame), else the middle of the frame's interval."""
        frame = self.timeline.value()
        if self._shown_at is not None and self._shown_at[0] == frame:
            return self._shown_at[1]
        return self._seconds_of(frame)

    def set_hints(self, hints) -> None:
        """The video's colour hints changed: mark them on the timeline and show the frame with them."""
        self._hints = tuple(hints)
        self._update_marks()
        self.refresh()

    def set_references(self, references) -> None:
        """The video's reference photos changed: show the frame with them."""
        self._references = tuple(references)
        self.refresh()

    def _update_marks(self) -> None:
        self.timeline.set_marks([(min(self._frames - 1, max(0, round(h.t * self._fps))), h.color)
                                 for h in self._hints if h.t is not None] if self._video is not None else [])

    def load(self, opened: jobs.OpenedVideo, hints=(), references=()) -> None:
        self.stop_preview()
        info = opened.info
        self._video = opened
        self._hints = tuple(hints)
        self._references = tuple(references)
        self._shown_at = None
        self._fps = float(info.fps) if info.fps else 25.0
        frames = int(info.frame_count) or round(float(info.duration) * self._fps)
        self._frames = max(1, frames)
        self._shown_key = None
        self.timeline.blockSignals(True)
        self.timeline.setRange(0, self._frames - 1)
        self.timeline.setPageStep(max(1, round(self._fps)))
        self.timeline.setValue(0)
        self.timeline.blockSignals(False)
        self._update_marks()
        self._update_time_label()
        self.request_frame()

    def unload(self) -> None:
        self.stop_preview()
        self._engine.cancel("view")
        self._video = None
        self._shown_key = None
        self._hints = self._references = ()
        self.timeline.set_marks([])
        self.frameShown.emit(None)

    def seek(self, frame: int) -> None:
        self.timeline.setValue(frame)

    def refresh(self) -> None:
        """Settings changed: show the playhead's frame with them."""
        if self._video is not None:
            self.stop_preview()
            self.request_frame()

    # -- scrubbing -----------------------------------------------------------------------------------
    def _on_scrub(self, _value: int) -> None:
        self._update_time_label()
        if self._previewing:
            self.stop_preview(show_frame=False)
        if not self._scrub_timer.isActive():
            self._scrub_timer.start()

    def _seconds_of(self, frame: int) -> float:
        # The middle of the frame's display interval: immune to rounding of its timestamp.
        return min((frame + 0.5) / self._fps, max(0.0, float(self._video.info.duration) - 0.5 / self._fps))

    def request_frame(self) -> None:
        if self._video is None:
            return
        frame = self.timeline.value()
        settings = self._settings()
        key = (frame, settings.render_key(), self._hints, self._references)
        if key == self._shown_key:
            return
        self._view.set_pending("Colourising…")
        video = self._video
        self._engine.submit(
            "view",
            partial(jobs.video_frame, path=video.path, seconds=self._seconds_of(frame), max_side=SCRUB_MAX_SIDE,
                    settings=settings.render_settings(), hints=self._hints, width=video.info.width,
                    fps=self._fps, references=self._references),
            on_done=lambda r: self._frame_ready(video, key, r),
            on_error=lambda e: self._frame_failed(video, e),
            on_partial=lambda r: self._frame_original(video, r))

    def _frame_original(self, video, result) -> None:
        if video is self._video:
            own, before = result
            self._view.set_images(before, None, "Colourising…")
            self.frameShown.emit((own, before.width() / video.info.width))

    def _frame_ready(self, video, key, result) -> None:
        if video is not self._video:
            return
        own, before, after = result
        self._shown_key = key
        self._shown_at = (key[0], own)
        self._view.set_images(before, after)
        self._update_time_label()
        self.frameShown.emit((own, before.width() / video.info.width))

    def _frame_failed(self, video, error) -> None:
        if video is self._video:
            self._view.set_pending("")
            self.errorOccurred.emit(error, "show this frame")

    def _update_time_label(self) -> None:
        duration = float(self._video.info.duration) if self._video else 0.0
        frame = self.timeline.value()
        # A frame's start: its own time once shown, its nominal one while it is on the way.
        at = self._shown_at[1] if self._shown_at is not None and self._shown_at[0] == frame else frame / self._fps
        self.time_label.setText(f"{format_time(at)} / {format_time(duration, precise=False)}")

    # -- preview -------------------------------------------------------------------------------------
    def is_previewing(self) -> bool:
        return self._previewing

    def toggle_preview(self) -> None:
        if self._previewing:
            self.stop_preview()
        else:
            self.start_preview()

    def start_preview(self) -> None:
        if self._video is None:
            return
        duration = float(self._video.info.duration) or self._frames / self._fps
        span = min(PREVIEW_SECONDS, duration)
        first = self.timeline.value()
        if first / self._fps + span > duration:  # near the end: preview the last seconds instead
            first = max(0, int((duration - span) * self._fps))
        settings = self._settings()
        video = self._video
        self._set_preview_state(True)
        self._shown_key = None
        self.frameShown.emit(None)  # the preview's frames are not where hints are placed
        self.preview_shown = 0
        self._view.set_pending("Preparing preview…")
        self._engine.submit(
            "view",
            partial(jobs.preview, path=video.path, start=first / self._fps, seconds=span,
                    strength=settings.strength, max_side=PREVIEW_MAX_SIDE, settings=settings.render_settings(),
                    hints=self._hints, references=self._references),
            on_done=lambda n: self._preview_ended(video),
            on_error=lambda e: self._preview_failed(video, e),
            on_partial=lambda f: self._preview_frame(video, f))

    def stop_preview(self, show_frame: bool = True) -> None:
        if not self._previewing:
            return
        self._engine.cancel("view")
        self._set_preview_state(False)
        self._view.set_pending("")
        if show_frame:
            self.request_frame()

    def _preview_frame(self, video, frame: "jobs.PreviewFrame | jobs.FollowingHints") -> None:
        if video is not self._video or not self._previewing:
            return
        if isinstance(frame, jobs.FollowingHints):
            self._view.set_pending(f"Following the hints through the video… {frame.share:.0%}")
            return
        self.preview_shown += 1
        self._view.set_images(frame.before, frame.after)
        self.timeline.blockSignals(True)  # the playhead follows the preview without asking for frames
        self.timeline.setValue(min(self._frames - 1, round(frame.seconds * self._fps)))
        self.timeline.blockSignals(False)
        self._shown_at = (self.timeline.value(), frame.seconds)
        self._update_time_label()

    def _preview_ended(self, video) -> None:
        if video is self._video and self._previewing:
            self._set_preview_state(False)
            self._view.set_pending("")
            self.request_frame()

    def _preview_failed(self, video, error) -> None:
        if video is self._video:
            self._set_preview_state(False)
            self._view.set_pending("")
            if not isinstance(error, Cancelled):
                self.errorOccurred.emit(error, "play the preview")

    def _set_preview_state(self, running: bool) -> None:
        changed = running != self._previewing
        self._previewing = running
        icon = QStyle.StandardPixmap.SP_MediaStop if running else QStyle.StandardPixmap.SP_MediaPlay
        self.preview_button.setIcon(self.style().standardIcon(icon))
        self.preview_button.setText("Stop" if running else f"Preview {PREVIEW_SECONDS:g} s")
        if changed:
            self.previewRunningChanged.emit(running)
