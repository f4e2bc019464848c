"""The main window: open a photo or video, compare before/after, save or render."""

from __future__ import annotations

import json
import logging
from functools import partial
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QActionGroup, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QFrame,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QStyle,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from vidcolor.errors import WeightsError
from vidcolor.media import PHOTO_SUFFIXES, PHOTO_WRITE_FORMATS, VIDEO_SUFFIXES

from . import jobs
from .compare_view import SIDE, SINGLE, SPLIT, CompareView
from .errors import describe
from .hint_editor import HintEditor
from .photo_cache import PhotoCache
from .reference_editor import ReferenceEditor
from .reference_strip import ReferenceStrip
from .render_bar import RenderBar
from .settings_panel import AppSettings, SettingsPanel
from .video_panel import VideoPanel
from .workers import Engine, ModelUnavailable

MAX_RECENT = 10
PHOTO_FILTERS = "PNG image (*.png);;JPEG image (*.jpg *.jpeg);;TIFF image (*.tif *.tiff);;WebP image (*.webp)"
VIDEO_FILTERS = "MP4 video (*.mp4);;QuickTime video (*.mov);;Matroska video (*.mkv)"
OPEN_FILTERS = ("Photos and videos (" + " ".join(f"*{s}" for s in sorted(PHOTO_SUFFIXES | VIDEO_SUFFIXES))
                + ");;All files (*)")


def _separator() -> QFrame:
    line = QFrame()
    line.setFrameShape(QFrame.Shape.VLine)
    line.setFrameShadow(QFrame.Shadow.Sunken)
    return line


def _with_suffix(path: Path, chosen_filter: str, default: str) -> Path:
    """``path``, given the first extension of the chosen file-type filter when it has none."""
    if path.suffix:
        return path
    patterns = chosen_filter.partition("(")[2].rstrip(")").split()
    return path.with_suffix(patterns[0].lstrip("*") if patterns else default)


class PhotoDoc:
    def __init__(self, opened: jobs.OpenedPhoto):
        self.path = opened.path
        self.photo = opened.photo
        self.before = opened.before
        self.result = None  # full-precision RGB of the last colourisation
        self.result_key = None  # the settings and hints it was made with
        self.after = None
        self.matched = []  # the points the references gave the result (vidcolor.hints.Hint)
        self.cache = PhotoCache(opened.photo)  # used by the engine thread only


log = logging.getLogger("vidcolor.gui")


class MainWindow(QMainWindow):
    shutdown_ms = 30_000  # closing waits this long for the render and the colourisation worker to stop

    def __init__(self, colorizer=None, store: QSettings | None = None, model_path: Path | None = None):
        """``colorizer``: use this one instead of loading the shipped model (tests, embedding)."""
        super().__init__()
        self.setWindowTitle("vidcolor")
        self.setAcceptDrops(True)
        self.store = store or QSettings()
        self.doc: PhotoDoc | None = None
        self._closing = False
        self._model_ready = False
        self._model_error_reported = False
        self._render_starting = False  # between asking for a render and its thread starting

        self.engine = Engine(self)
        self.view = CompareView()
        self.settings_panel = SettingsPanel(AppSettings.load(self.store))
        self.video_panel = VideoPanel(self.engine, self.view, self.settings_panel.settings)
        self.render_bar = RenderBar()
        self.hint_editor = HintEditor(self, self.engine, self.view, self.store, self.settings_panel.settings)
        self.reference_strip = ReferenceStrip()
        self.references = ReferenceEditor(self, self.engine, self.reference_strip, self.hint_editor, self.store)
        self._build_layout()
        self._build_actions()
        self._build_status_bar()
        self._restore_state()

        self.engine.busyChanged.connect(self._on_busy)
        self.settings_panel.changed.connect(self._on_settings_changed)
        self.video_panel.errorOccurred.connect(self.show_error)
        self.video_panel.renderRequested.connect(self.render_video)
        self.render_bar.errorOccurred.connect(self.show_error)
        self.render_bar.rendered.connect(lambda report: self._forget_render(report.source))
        self.render_bar.runningChanged.connect(lambda _running: self._update_actions())
        self.render_bar.loadRequested.connect(self.open_path)
        self.view.viewChanged.connect(self._update_zoom_label)
        self.hint_editor.changed.connect(self._hints_changed)
        self.video_panel.frameShown.connect(self.hint_editor.show_frame)
        self.hint_editor.errorOccurred.connect(self.show_error)
        self.hint_editor.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.references.changed.connect(self._references_changed)
        self.references.errorOccurred.connect(self.show_error)
        self.references.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.references.turn_action.triggered.connect(self.turn_matched_into_hints)
        self._applied = self.settings_panel.settings()
        self._start_model(colorizer, model_path)
        self._update_actions()

    # -- construction ------------------------------------------------------------------------------
    def _build_layout(self) -> None:
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.reference_strip)
        lay.addWidget(self.video_panel)
        lay.addWidget(self.render_bar)
        self.video_panel.hide()
        self.setCentralWidget(central)

        scroll = QScrollArea()
        scroll.setWidget(self.settings_panel)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.settings_dock = QDockWidget("Settings", self)
        self.settings_dock.setObjectName("SettingsDock")
        self.settings_dock.setWidget(scroll)
        self.settings_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                                       | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.settings_dock.setMinimumWidth(280)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.settings_dock)

    def _action(self, text: str, slot, shortcut=None, tip: str = "", icon=None, checkable=False) -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            shortcuts = shortcut if isinstance(shortcut, list) else [shortcut]
            a.setShortcuts([QKeySequence(s) for s in shortcuts])
        if icon is not None:
            a.setIcon(self.style().standardIcon(icon))
        a.setCheckable(checkable)
        if tip:
            a.setToolTip(tip)
            a.setStatusTip(tip)
        (a.toggled if checkable else a.triggered).connect(slot)
        self.addAction(a)  # shortcuts work even when the toolbar or menu is hidden
        return a

    def _build_actions(self) -> None:
        SP = QStyle.StandardPixmap
        self.open_action = self._action("&Open…", lambda: self.open_dialog(), QKeySequence.StandardKey.Open,
                                        "Open a photo or video (Ctrl+O)", SP.SP_DialogOpenButton)
        self.save_action = self._action("&Save As…", lambda: self.save_dialog(), QKeySequence.StandardKey.Save,
                                        "Save the colourised photo, or the current video frame (Ctrl+S)",
                                        SP.SP_DialogSaveButton)
        self.render_action = self._action("&Render Video…", lambda: self.render_video(), "Ctrl+R",
                                          "Colourise the whole video into a new file (Ctrl+R)", SP.SP_MediaPlay)
        self.copy_action = self._action("&Copy Result", lambda: self.copy_result(), QKeySequence.StandardKey.Copy,
                                        "Copy the colourised image to the clipboard (Ctrl+C)")
        self.quit_action = self._action("&Quit", lambda: self.close(), QKeySequence.StandardKey.Quit)
        self.before_action = self._action("Show &Before", self.view.set_show_original, ["Space", "B"],
                                          "Show the original in place of the comparison (Space or B)",
                                          checkable=True)
        self.split_action = self._action("S&plit", lambda on: on and self.set_mode(SPLIT), "1",
                                         "Wipe between before and after with a draggable split (1)", checkable=True)
        self.side_action = self._action("Si&de by Side", lambda on: on and self.set_mode(SIDE), "2",
                                        "Before and after next to each other (2)", checkable=True)
        self.single_action = self._action("&Result Only", lambda on: on and self.set_mode(SINGLE), "3",
                                          "Only the result; hold B or Space to flick to the original (3)",
                                          checkable=True)
        modes = QActionGroup(self)
        for a in (self.split_action, self.side_action, self.single_action):
            modes.addAction(a)
        self.fit_action = self._action("&Fit to Window", lambda: self.view.fit_to_window(), "Ctrl+0",
                                       "Fit to window (Ctrl+0)")
        self.actual_action = self._action("&Actual Size (100%)", lambda: self.view.actual_size(), "Ctrl+1",
                                          "One image pixel per screen pixel (Ctrl+1)")
        self.zoom_in_action = self._action("Zoom &In", lambda: self.view.zoom_in(),
                                           [QKeySequence.StandardKey.ZoomIn, "Ctrl+="])
        self.zoom_out_action = self._action("Zoom O&ut", lambda: self.view.zoom_out(), QKeySequence.StandardKey.ZoomOut)
        self.preview_action = self._action("&Preview Range", lambda: self.video_panel.toggle_preview(), "P",
                                           "Play a few seconds from the playhead colourised (P)")

        menu = self.menuBar().addMenu("&File")
        menu.addAction(self.open_action)
        self.recent_menu = menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        menu.addSeparator()
        menu.addAction(self.save_action)
        menu.addAction(self.render_action)
        menu.addSeparator()
        menu.addAction(self.quit_action)
        hints = self.hint_editor
        for a in (hints.undo_action, hints.redo_action, hints.clear_action):
            self.addAction(a)  # shortcuts work even when the menu is hidden
        refs = self.references
        menu = self.menuBar().addMenu("&Edit")
        menu.addAction(hints.undo_action)
        menu.addAction(hints.redo_action)
        menu.addSeparator()
        menu.addAction(self.copy_action)
        menu.addSeparator()
        menu.addAction(hints.delete_action)
        menu.addAction(hints.clear_action)
        menu.addSeparator()
        menu.addAction(refs.add_action)
        menu.addAction(refs.turn_action)
        menu = self.menuBar().addMenu("&View")
        for a in (self.split_action, self.side_action, self.single_action):
            menu.addAction(a)
        menu.addSeparator()
        menu.addAction(self.before_action)
        menu.addSeparator()
        for a in (self.fit_action, self.actual_action, self.zoom_in_action, self.zoom_out_action):
            menu.addAction(a)
        menu.addSeparator()
        menu.addAction(self.settings_dock.toggleViewAction())
        menu = self.menuBar().addMenu("&Video")
        menu.addAction(self.preview_action)
        menu.addAction(self.render_action)
        menu = self.menuBar().addMenu("&Help")
        menu.addAction(self._action("&About vidcolor", self._about))

        bar = QToolBar("Main")
        bar.setObjectName("MainToolBar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        bar.addAction(self.open_action)
        bar.addAction(self.save_action)
        bar.addAction(self.copy_action)
        bar.addSeparator()
        for a in (self.split_action, self.side_action, self.single_action):
            bar.addAction(a)
        bar.addSeparator()
        bar.addAction(self.before_action)
        bar.addSeparator()
        bar.addAction(self.fit_action)
        bar.addAction(self.actual_action)
        bar.addSeparator()
        bar.addAction(refs.add_action)
        self.addToolBar(bar)
        self.toolbar = bar
        for button in bar.findChildren(QWidget):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space must reach the before/after toggle

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.info_label = QLabel()
        self.zoom_label = QLabel()
        self.device_label = QLabel("Loading model…")
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setMaximumWidth(90)
        self.busy_bar.setMaximumHeight(12)
        self.busy_bar.setTextVisible(False)
        self.busy_bar.hide()
        for label in (self.info_label, self.zoom_label, self.device_label):
            label.setContentsMargins(6, 0, 6, 0)
        sb.addWidget(self.info_label, 1)
        sb.addPermanentWidget(self.busy_bar)
        sb.addPermanentWidget(self.zoom_label)
        sb.addPermanentWidget(_separator())
        sb.addPermanentWidget(self.device_label)

    def _restore_state(self) -> None:
        geometry = self.store.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 820)
        state = self.store.value("window/state")
        if state is not None:
            self.restoreState(state)
        mode = self.store.value("view/mode", SPLIT)
        self.set_mode(mode if mode in (SPLIT, SIDE, SINGLE) else SPLIT)
        try:
            self.view.set_split(float(self.store.value("view/split", 0.5)))
        except (TypeError, ValueError):
            pass

    def _save_state(self) -> None:
        self.store.setValue("window/geometry", self.saveGeometry())
        self.store.setValue("window/state", self.saveState())
        self.store.setValue("view/mode", self.view.mode())
        self.store.setValue("view/split", self.view.split())
        self.settings_panel.settings().save(self.store)
        self.store.sync()

    # -- model -------------------------------------------------------------------------------------
    def _start_model(self, colorizer, model_path) -> None:
        s = self.settings_panel.settings()
        if colorizer is not None:
            fn = partial(jobs.use_model, colorizer=colorizer)
        else:
            fn = partial(jobs.load_model, device=s.device, settings=s.render_settings(), path=model_path)
        self.engine.submit("model", fn, on_done=self._model_loaded, on_error=self._model_failed)

    def _model_loaded(self, info: jobs.ModelInfo) -> None:
        self._model_ready = True
        self.device_label.setText(info.device_name)
        self.device_label.setToolTip(f"Colourising on {info.device}")
        self.settings_panel.set_gpu_available(info.gpu_available, info.gpu_name)
        self._update_actions()

    def _model_failed(self, error) -> None:
        self.device_label.setText("No model")
        self.show_error(error, "load the colourisation model")

    # -- opening -----------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        start = self.store.value("dirs/open", str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self, "Open photo or video", start, OPEN_FILTERS)
        if path:
            self.open_path(path)

    def open_path(self, path) -> None:
        path = Path(path)
        self.store.setValue("dirs/open", str(path.parent))
        self.statusBar().showMessage(f"Opening {path.name}…")
        self.video_panel.stop_preview(show_frame=False)
        self.engine.cancel("view")  # whatever was being colourised for the old file is moot
        hints_file = self.hint_editor.places.path_for(path)
        self.engine.submit("open", partial(jobs.open_media, path=path, hints_file=hints_file,
                                           references_file=self.references.listing_for(path)),
                           on_done=self._opened, on_error=lambda e: self._open_failed(path, e))

    def _opened(self, opened) -> None:
        self.statusBar().clearMessage()
        self._add_recent(opened.path)
        self.view.set_show_original(False)
        self.before_action.setChecked(False)
        self.setWindowTitle(f"{opened.path.name} — vidcolor")
        self.hint_editor.layer.set_matched([])
        if isinstance(opened, jobs.OpenedPhoto):
            self.video_panel.unload()
            self.video_panel.hide()
            self.doc = PhotoDoc(opened)
            self.hint_editor.load(opened.path, opened.photo, opened.hints, opened.hints_file)
            self.references.load(opened.path, opened.references, self.references.listing_for(opened.path), False)
            pixels = opened.photo.pixels
            depth = "16-bit" if pixels.dtype.itemsize == 2 else "8-bit"
            colour = "gray" if pixels.ndim == 2 else "RGB"
            extras = " + alpha" if opened.photo.alpha is not None else ""
            self.info_label.setText(f"{opened.path.name} · {pixels.shape[1]} × {pixels.shape[0]} · "
                                    f"{colour} {depth}{extras}")
            self.view.set_images(opened.before, None, "Colourising…")
            self.view.fit_to_window()
            self._colorize_photo()
        else:
            self.doc = None
            info = opened.info
            self.hint_editor.load_video(opened.path, (info.width, info.height), float(info.fps or 0),
                                        opened.hints, opened.hints_file)
            self.references.load(opened.path, opened.references, self.references.listing_for(opened.path), True)
            self.info_label.setText(
                f"{opened.path.name} · {info.width} × {info.height} · {float(info.fps):.3g} fps · "
                f"{info.frame_count or '?'} frames · {info.codec}{' · audio' if info.has_audio else ''}")
            self.view.clear()
            self.video_panel.show()
            self.video_panel.load(opened, opened.hints, self.references.references())
        if opened.hints_error is not None:
            self.show_error(opened.hints_error, f"use the hints saved for {opened.path.name}")
        if opened.references_error is not None:
            self.show_error(opened.references_error, f"use the reference photos saved for {opened.path.name}")
        self._update_actions()
        if isinstance(opened, jobs.OpenedVideo):
            self._offer_resume(opened.path)

    def _open_failed(self, path: Path, error) -> None:
        self.statusBar().clearMessage()
        self._remove_recent(path)
        self.show_error(error, f"open {path.name}")
        # Opening cancelled the current file's pending work; the current file stays, so redo it.
        if self.doc is not None:
            self._colorize_photo()
        else:
            self.video_panel.refresh()

    # -- photo -------------------------------------------------------------------------------------
    def _hints_changed(self) -> None:
        """An edit to the hints: colour the photo, or the video's frame and timeline, with them."""
        if self.doc is not None:
            self._colorize_photo()
        elif self.video_panel.video is not None:
            self.video_panel.set_hints(self.hint_editor.hints())

    def _references_changed(self) -> None:
        if self.doc is not None:
            self._colorize_photo()
        elif self.video_panel.video is not None:
            self.video_panel.set_references(self.references.references())
        self._update_actions()

    def _result_key(self) -> tuple:
        """What the photo's colours depend on: the render settings, the reference photos and the
        hints (last)."""
        return (*self.settings_panel.settings().render_key(), tuple(self.references.references()),
                tuple(self.hint_editor.hints()))

    def _colorize_photo(self) -> None:
        doc = self.doc
        s = self.settings_panel.settings()
        key = self._result_key()
        if doc is None or doc.result_key == key:
            return
        self.view.set_pending("Colourising…")
        # A newer request (a hint dragged again, a setting moved) cancels this one.
        fn = partial(jobs.colorize_photo, photo=doc.photo, settings=s.render_settings(), hints=key[-1],
                     cache=doc.cache, preview_side=self.view.display_side(), references=key[-2])
        matched = []  # what this request's references gave, sent ahead of its result
        self.engine.submit("view", fn, on_done=lambda r: self._photo_colorized(doc, key, r, matched),
                           on_error=lambda e: self._photo_failed(doc, e),
                           on_partial=lambda part: self._photo_partial(doc, part, matched))

    def _photo_partial(self, doc: PhotoDoc, part, matched: list) -> None:
        if isinstance(part, jobs.MatchedPoints):
            matched[:] = part.hints
        elif doc is self.doc:
            self.view.set_after(part)

    def _photo_colorized(self, doc: PhotoDoc, key, result, matched=()) -> None:
        doc.result, doc.after = result
        doc.result_key = key
        doc.matched = list(matched)
        if doc is self.doc:
            self.view.set_after(doc.after)
            self.hint_editor.layer.set_matched(doc.matched)
            self._update_actions()

    def turn_matched_into_hints(self) -> None:
        """The points the references gave the photo shown become ordinary hints, and the references go."""
        doc = self.doc
        if doc is not None and doc.result_key == self._result_key():
            self.references.turn_into_hints(doc.matched)

    def _photo_failed(self, doc: PhotoDoc, error) -> None:
        if doc is self.doc:
            self.view.set_pending("")
            self.show_error(error, "colourise the photo")

    def has_result(self) -> bool:
        return self.view.after_image() is not None

    # -- saving, copying ---------------------------------------------------------------------------
    def save_dialog(self) -> None:
        if self.doc is not None:
            src = self.doc.path
            suffix = src.suffix.lower() if src.suffix.lower() in PHOTO_WRITE_FORMATS else ".png"
            default = src.with_name(f"{src.stem}_colour{suffix}")
        elif self.video_panel.video is not None:
            src = self.video_panel.video.path
            default = src.with_name(f"{src.stem}_frame{self.video_panel.position() + 1:05d}_colour.png")
        else:
            return
        start = Path(self.store.value("dirs/save", str(default.parent))) / default.name
        path, chosen = QFileDialog.getSaveFileName(self, "Save colourised image", str(start), PHOTO_FILTERS)
        if path:
            self.save_to(_with_suffix(Path(path), chosen, ".png"))

    def save_to(self, path) -> None:
        """Save the colourised photo (or the video's current frame at full size) to ``path``."""
        path = Path(path)
        self.store.setValue("dirs/save", str(path.parent))
        s = self.settings_panel.settings()
        if self.doc is not None:
            doc = self.doc
            key = self._result_key()
            rgb = doc.result if doc.result_key == key else None
            fn = partial(jobs.save_photo, dst=path, photo=doc.photo, rgb=rgb, settings=s.render_settings(),
                         hints=key[-1], references=key[-2])
        elif self.video_panel.video is not None:
            fn = partial(jobs.save_frame, path=self.video_panel.video.path,
                         seconds=self.video_panel.position_seconds(), dst=path, settings=s.render_settings(),
                         hints=tuple(self.hint_editor.hints()), fps=self.video_panel.fps(),
                         references=tuple(self.references.references()))
        else:
            return
        self.statusBar().showMessage(f"Saving {path.name}…")
        self.engine.submit(f"save:{path}", fn, on_done=lambda p: self.statusBar().showMessage(f"Saved {p}", 5000),
                           on_error=lambda e: self.show_error(e, f"save {path.name}"))

    def copy_result(self) -> None:
        doc = self.doc
        # The full-resolution result, not the quick preview a large photo shows while it is made.
        full = doc is not None and doc.after is not None and doc.result_key == self._result_key()
        image = doc.after.image if full else self.view.after_image()
        if image is not None:
            QGuiApplication.clipboard().setImage(image)
            self.statusBar().showMessage("Colourised image copied to the clipboard", 3000)

    # -- video render ------------------------------------------------------------------------------
    def render_video(self, dst=None) -> None:
        """Render the open video to ``dst`` (asked for when None)."""
        video = self.video_panel.video
        if video is None or self.render_bar.is_running() or self._render_starting:
            return
        self.settings_panel.flush()
        s = self.settings_panel.settings()
        if dst is None:
            suffix = ".mkv" if s.lossless() else (video.path.suffix.lower()
                                                   if video.path.suffix.lower() in (".mp4", ".mov", ".mkv") else ".mp4")
            start = Path(self.store.value("dirs/render", str(video.path.parent))) / f"{video.path.stem}_colour{suffix}"
            path, chosen = QFileDialog.getSaveFileName(self, "Render colourised video", str(start), VIDEO_FILTERS)
            if not path:
                return
            dst = _with_suffix(Path(path), chosen, suffix)
        dst = Path(dst)
        self.store.setValue("dirs/render", str(dst.parent))
        self.video_panel.stop_preview()
        self._render_starting = True
        self._update_actions()
        # The render gets its own copy of the model so scrubbing stays possible meanwhile.
        hints, references = self.hint_editor.hints(), self.references.references()
        self.engine.submit("render-prep", jobs.copy_model,
                           on_done=lambda r: self._start_render(video.path, dst, r, s, hints, references),
                           on_error=self._render_start_failed)

    def _render_start_failed(self, error) -> None:
        self._render_starting = False
        self._update_actions()
        self.show_error(error, "start the render")

    def _start_render(self, src: Path, dst: Path, model_and_device, s: AppSettings, hints=(),
                      references=()) -> None:
        self._render_starting = False
        if self._closing:
            return
        model, device = model_and_device
        # Remembered until it finishes: after a crash, opening the video offers to resume it.
        self._store_renders({**self._interrupted_renders(), str(src): str(dst)})
        self.render_bar.start(src, dst, model, device, s.render_settings(), s.video_options(), hints, references)
        self._update_actions()

    def _interrupted_renders(self) -> dict[str, str]:
        try:
            renders = json.loads(str(self.store.value("renders/unfinished", "{}")))
        except ValueError:
            return {}
        return renders if isinstance(renders, dict) else {}

    def _store_renders(self, renders: dict[str, str]) -> None:
        self.store.setValue("renders/unfinished", json.dumps(renders))

    def _forget_render(self, src) -> None:
        self._store_renders({k: v for k, v in self._interrupted_renders().items() if k != str(src)})

    def _offer_resume(self, src: Path) -> None:
        dst = self._interrupted_renders().get(str(src))
        if dst is None or self.render_bar.is_running():
            return
        s = self.settings_panel.settings()
        # Asked of the render's own rule (the model's weights included), so only a resume that
        # will happen is offered.
        self.engine.submit("resume-check", partial(jobs.resumable_frames, src=src, dst=Path(dst),
                                                   settings=s.render_settings(), options=s.video_options(),
                                                   hints=tuple(self.hint_editor.hints()),
                                                   references=tuple(self.references.references())),
                           on_done=lambda frames: self._ask_resume(src, Path(dst), frames),
                           on_error=lambda e: self.show_error(e, f"check the interrupted render of {src.name}"))

    def _ask_resume(self, src: Path, dst: Path, frames: int) -> None:
        from vidcolor.video.segments import discard_interrupted

        video = self.video_panel.video
        if video is None or video.path != src or self.render_bar.is_running() or self._render_starting:
            return
        answer = QMessageBox.StandardButton.No
        if frames:
            answer = QMessageBox.question(
                self, "Resume the interrupted render?",
                f"A render of {src.name} to {dst.name} was interrupted; resuming it keeps its first {frames} "
                "frames. Resume it? (No discards them.)",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes)
        if answer == QMessageBox.StandardButton.Yes:
            self.render_video(dst)
        else:  # declined, or nothing a render with these settings would keep
            discard_interrupted(dst)
            self._forget_render(src)

    # -- settings ----------------------------------------------------------------------------------
    def _on_settings_changed(self, s: AppSettings) -> None:
        previous, self._applied = self._applied, s
        if s.device != previous.device:
            self.engine.submit("device", partial(jobs.change_device, device=s.device),
                               on_done=self._model_loaded,
                               on_error=lambda e: self.show_error(e, f"switch to {s.device}"))
        if s.render_key() != previous.render_key() or s.strength != previous.strength:
            if self.doc is not None:
                self._colorize_photo()
            else:
                self.video_panel.refresh()

    # -- view --------------------------------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        self.view.set_mode(mode)
        {SPLIT: self.split_action, SIDE: self.side_action, SINGLE: self.single_action}[mode].setChecked(True)

    def _update_zoom_label(self) -> None:
        if not self.view.has_image():
            self.zoom_label.setText("")
            return
        zoom = f"{self.view.zoom() * 100:.0f}%"
        self.zoom_label.setText(f"Fit · {zoom}" if self.view.is_fit() else zoom)

    def _on_busy(self, busy: bool) -> None:
        self.busy_bar.setVisible(busy)

    def _update_actions(self) -> None:
        is_video = self.video_panel.video is not None
        has_content = self.doc is not None or is_video
        self.save_action.setEnabled(has_content)
        self.copy_action.setEnabled(has_content)
        rendering = self.render_bar.is_running() or self._render_starting
        self.render_action.setEnabled(is_video and not rendering)
        self.video_panel.render_button.setEnabled(not rendering)
        self.preview_action.setEnabled(is_video)
        doc = self.doc
        self.references.turn_action.setEnabled(doc is not None and bool(doc.matched)
                                               and doc.result_key == self._result_key())

    # -- recent files ------------------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        value = self.store.value("recent", [])
        if isinstance(value, str):  # INI files give back a one-item list as a plain string
            value = [value]
        return [str(v) for v in value or []]

    def _add_recent(self, path: Path) -> None:
        path = str(Path(path).resolve())
        files = [path] + [f for f in self.recent_files() if f != path]
        self.store.setValue("recent", files[:MAX_RECENT])

    def _remove_recent(self, path: Path) -> None:
        path = str(Path(path).resolve())
        self.store.setValue("recent", [f for f in self.recent_files() if f != path])

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for f in files:
            a = self.recent_menu.addAction(Path(f).name)
            a.setToolTip(f)
            a.triggered.connect(partial(self.open_path, f))
        if not files:
            self.recent_menu.addAction("No recent files").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear Menu", lambda: self.store.setValue("recent", []))

    # -- drag and drop -----------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        files = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if files:
            event.acceptProposedAction()
            self.open_path(files[0])

    # -- errors, about, closing --------------------------------------------------------------------
    def show_error(self, error, doing: str = "do that") -> None:
        if self._closing:
            return
        if isinstance(error, (ModelUnavailable, WeightsError)):
            # Said once; repeating it for every frame scrubbed would make the app unusable.
            if self._model_error_reported:
                self.statusBar().showMessage("No colourisation model: showing the original only", 5000)
                return
            self._model_error_reported = True
        if isinstance(error, BaseException):
            title, text = describe(error, doing)
        else:
            title, text = "Error", str(error)
        self.statusBar().showMessage(title, 5000)
        QMessageBox.critical(self, title, text)

    def _about(self) -> None:
        from vidcolor import __version__

        QMessageBox.about(self, "About vidcolor",
                          f"<b>vidcolor {__version__}</b><p>Colourise black-and-white photos and videos.</p>"
                          "<p>Drag the split line to compare, scroll to zoom, drag to pan. "
                          "Space or B shows the original.</p>"
                          "<p>Click the photo (or a video's frame) to give a colour hint there; drag a "
                          "hint to move it, "
                          "double-click it to recolour it, Delete removes it.</p>"
                          "<p>Add a colour photo of what it shows (Edit ▸ Add Reference Photo…, or drop it on "
                          "the strip under the picture): its colours are used where its content matches.</p>")

    def closeEvent(self, event) -> None:
        if self.render_bar.is_running():
            answer = QMessageBox.question(
                self, "Render in progress",
                "A video is still being rendered. Cancel the render and quit?\n\n"
                "The unfinished file will be removed.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        self._closing = True
        self.hint_editor.close_chooser()
        self._save_state()
        self.video_panel.unload()
        waits = (("The video render", self.render_bar.cancel_and_wait(self.shutdown_ms)),
                 ("Colourisation", self.engine.shutdown(self.shutdown_ms)))
        stuck = [what for what, ended in waits if not ended]
        if stuck:
            # Destroying a running thread would crash the app or cut a file short: stay open instead.
            log.error("%s did not stop within %.0f s; the window stays open", " and ".join(stuck),
                      self.shutdown_ms / 1000)
            self._closing = False
            QMessageBox.warning(self, "Still stopping",
                                f"{' and '.join(stuck)} did not stop within {self.shutdown_ms / 1000:g} s, so vidcolor "
                                "stays open rather than cut its work off. Close the window again to wait longer.")
            event.ignore()
            return
        super().closeEvent(event)
