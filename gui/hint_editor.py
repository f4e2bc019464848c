"""Colour hints on the open photo or video: placing them through the chooser, editing them on the
picture with undo and redo, and keeping them in the file's hints file.

On a video a hint is placed on the frame shown, at that frame's own time ``t`` and its full-size
display pixels (the frame is shown reduced), and only the hints of the frame shown have markers.

Every edit is a command on one undo stack (cleared when another photo opens); after each edit,
undo or redo the list says ``changed``, the window re-renders the photo, and the hints file is
rewritten (or removed, when no hint is left) on the engine thread.
"""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path

import shiboken6
from PySide6.QtCore import QObject, QPointF, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import QFileDialog

from vidcolor.errors import Cancelled

from . import jobs
from .hint_chooser import HintChooser
from .hint_edits import AddHint, ClearHints, DeleteHint, HintList, MoveHint, RecolourHint
from .hint_sidecar import SUFFIX, SidecarPlaces, is_unwritable, write_hints
from .hints_layer import HintsLayer
from .workers import ModelUnavailable


class HintEditor(QObject):
    changed = Signal()  # the hints changed: the photo should be colourised again
    errorOccurred = Signal(object, str)  # exception, what was being done
    message = Signal(str)  # a note for the status bar

    def __init__(self, window, engine, view, store, settings_getter):
        super().__init__(window)
        self._window = window
        self._engine = engine
        self._view = view
        self._settings = settings_getter
        self.places = SidecarPlaces(store)
        self.list = HintList(self)
        self.undo_stack = QUndoStack(self)
        self.layer = HintsLayer(view, self.list, self)
        self.chooser: HintChooser | None = None
        self._path: Path | None = None  # the open photo or video
        self._photo = None
        self._size: tuple[int, int] | None = None  # its (display) width and height: hints' pixels
        self._video = False
        self._frame: tuple[float, float] | None = None  # a video's frame shown: (its own time, scale)
        self._fps = 25.0  # a hint is on the frame shown when its time is within half a frame
        self._hints_file: Path | None = None  # where its hints are written; None: not kept
        self._asking = False  # a "where to keep the hints" dialog is open

        self.undo_action = self.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcuts(QKeySequence.StandardKey.Undo)
        self.redo_action = self.undo_stack.createRedoAction(self, "&Redo")
        redo = [QKeySequence("Ctrl+Shift+Z")]
        redo += [k for k in QKeySequence.keyBindings(QKeySequence.StandardKey.Redo) if k not in redo]
        self.redo_action.setShortcuts(redo)
        self.delete_action = QAction("&Delete Hint", self)
        self.delete_action.setShortcuts([QKeySequence.StandardKey.Delete, QKeySequence(Qt.Key.Key_Backspace)])
        # Only while the picture has the focus: elsewhere Delete edits text.
        self.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.delete_action.setToolTip("Delete the selected hint (Delete)")
        self.delete_action.triggered.connect(self.delete_selected)
        view.addAction(self.delete_action)
        self.clear_action = QAction("C&lear Hints", self)
        self.clear_action.setToolTip("Remove every colour hint from the photo")
        self.clear_action.triggered.connect(self.clear)

        view.imageClicked.connect(self.place)
        self.layer.placeRequested.connect(self.place)
        self.layer.moveRequested.connect(self._move)
        self.layer.recolourRequested.connect(self.recolour)
        self.layer.deleteRequested.connect(self._delete)
        self.layer.clearRequested.connect(self.clear)
        self.layer.selectionChanged.connect(self._update_actions)
        self.list.changed.connect(self._hints_changed)
        self._update_actions()

    # -- the open photo ----------------------------------------------------------------------------
    def load(self, path: Path, photo, hints: list, hints_file: Path | None) -> None:
        """A photo was opened, with the hints kept for it."""
        self.close_chooser()
        self.undo_stack.clear()
        self._path, self._photo, self._hints_file = Path(path), photo, hints_file
        self._size, self._video, self._frame = tuple(photo.size), False, None
        self.list.set_hints(hints)
        self.layer.set_enabled(True)
        self.layer.set_frame(1.0, None)
        self._update_actions()

    def load_video(self, path: Path, size: tuple[int, int], fps: float, hints: list,
                   hints_file: Path | None) -> None:
        """A video was opened (``size``: its display width and height), with the hints kept for it.
        Hints are placed once a frame is shown (:meth:`show_frame`)."""
        self.close_chooser()
        self.undo_stack.clear()
        self._path, self._photo, self._hints_file = Path(path), None, hints_file
        self._size, self._video, self._frame = tuple(size), True, None
        self._fps = fps or 25.0
        self.list.set_hints(hints)
        self.layer.set_enabled(True)
        self.layer.set_frame(1.0, lambda h: False)
        self._update_actions()

    def show_frame(self, frame: tuple[float, float] | None) -> None:
        """The video's frame on screen: (its own time, image points per display pixel of the
        video), or None while none is (a preview plays)."""
        if not self._video:
            return
        if frame != self._frame:
            self.close_chooser()
        self._frame = frame
        if frame is None:
            self.layer.set_frame(1.0, lambda h: False)
        else:
            t, scale = frame
            self.layer.set_frame(scale, lambda h: h.on_frame(t, self._fps))

    def frame_time(self) -> float | None:
        """The own time of the video's frame on screen, where hints are placed; None otherwise."""
        return None if self._frame is None else self._frame[0]

    def unload(self) -> None:
        """No photo is open (a video, or nothing)."""
        self.close_chooser()
        self.undo_stack.clear()
        self._path = self._photo = self._hints_file = self._size = self._frame = None
        self._video = False
        self.list.set_hints([])
        self.layer.set_enabled(False)
        self._update_actions()

    def hints(self) -> list:
        return self.list.hints()

    def hints_file(self) -> Path | None:
        return self._hints_file

    # -- edits -------------------------------------------------------------------------------------
    def place(self, point: QPointF) -> None:
        """Ask for a colour for a new hint at image point ``point``."""
        pixel = self._pixel(point)
        if pixel is not None:
            self._ask(pixel, None)

    def recolour(self, index: int) -> None:
        if 0 <= index < len(self.list):
            h = self.list[index]
            self._ask((int(h.x), int(h.y)), index)

    def delete_selected(self) -> None:
        i = self.layer.selected()
        if i is not None:
            self._delete(i)

    def clear(self) -> None:
        if len(self.list):
            self.undo_stack.push(ClearHints(self.list))

    def _delete(self, index: int) -> None:
        if 0 <= index < len(self.list):
            self.layer.select(None)
            self.undo_stack.push(DeleteHint(self.list, index))

    def _move(self, index: int, point: QPointF) -> None:
        pixel = self._pixel(point)
        h = self.list[index]
        if pixel is not None and pixel != (h.x, h.y):
            self.undo_stack.push(MoveHint(self.list, index, *pixel))

    def _scale(self) -> float:
        return self._frame[1] if self._frame is not None else 1.0

    def _pixel(self, point: QPointF) -> tuple[int, int] | None:
        """The photo's (or the video's, at full size) pixel at image point ``point``; None off the
        picture, with none open, or on a video with no frame shown."""
        if self._size is None or (self._video and self._frame is None):
            return None
        W, H = self._size
        scale = self._scale()
        x, y = math.floor(point.x() / scale), math.floor(point.y() / scale)
        return (x, y) if 0 <= x < W and 0 <= y < H else None

    # -- the chooser -------------------------------------------------------------------------------
    def _ask(self, pixel: tuple[int, int], index: int | None) -> None:
        self.close_chooser()
        x, y = pixel
        current = None if index is None else self.list[index].color
        chooser = HintChooser(self._window, "Hint colour" if index is None else "Recolour hint", current)
        t = self.frame_time()  # a video's hint is on the frame shown now
        chooser.chosen.connect(partial(self._chosen, pixel, t, index, chooser))
        chooser.dismissed.connect(partial(self._dismissed, chooser))
        self.chooser = chooser
        centre = self.layer.image_point(x, y)
        if index is None:
            self.layer.set_pending(centre)
        s = self._settings()
        if self._video:
            fn = partial(jobs.suggest_frame_colours, path=self._path, seconds=t, x=x, y=y,
                         settings=s.render_settings())
        else:
            fn = partial(jobs.suggest_colours, photo=self._photo, x=x, y=y, settings=s.render_settings())
        self._engine.submit("suggest", fn, on_done=partial(self._suggested, chooser),
                            on_error=partial(self._suggestions_failed, chooser))
        where = self._view.image_positions(centre)
        anchor = where[-1][0] if where else QPointF(self._view.rect().center())
        chooser.open_at(self._view.mapToGlobal(anchor.toPoint()))

    def _suggested(self, chooser: HintChooser, colours: list[str]) -> None:
        if chooser is self.chooser:
            chooser.set_suggestions(colours)

    def _suggestions_failed(self, chooser: HintChooser, error) -> None:
        if chooser is self.chooser and not isinstance(error, Cancelled):
            why = "the model is not available" if isinstance(error, ModelUnavailable) else str(error)
            chooser.set_failed(f"No suggestions: {why}")

    def _chosen(self, pixel: tuple[int, int], t: float | None, index: int | None, chooser: HintChooser,
                colour: str) -> None:
        if chooser is not self.chooser or self._size is None:
            return  # another photo was opened meanwhile
        self.layer.set_pending(None)
        self.chooser = None
        chooser.deleteLater()
        if index is None:
            from vidcolor.hints import Hint  # imports torch: loaded by now, for the model

            self.undo_stack.push(AddHint(self.list, Hint(*pixel, colour, t)))
            self.layer.select(len(self.list) - 1)
        elif index < len(self.list) and self.list[index].color != colour:
            self.undo_stack.push(RecolourHint(self.list, index, colour))

    def _dismissed(self, chooser: HintChooser) -> None:
        if chooser is self.chooser:
            self.layer.set_pending(None)
            self.chooser = None
            chooser.deleteLater()

    def close_chooser(self) -> None:
        """Close the colour chooser (and its picker) without a choice."""
        chooser, self.chooser = self.chooser, None
        self._engine.cancel("suggest")
        self.layer.set_pending(None)
        if chooser is not None:
            chooser.close()
            if chooser.picker is not None and shiboken6.isValid(chooser.picker):
                chooser.picker.reject()
            chooser.deleteLater()

    # -- keeping the hints -------------------------------------------------------------------------
    def _hints_changed(self) -> None:
        self._update_actions()
        self.changed.emit()
        self._write()

    def _write(self) -> None:
        if self._hints_file is None or self._asking:
            return
        target, photo = self._hints_file, self._path
        self._engine.submit("hints-file", partial(write_hints, path=target, hints=self.list.hints()),
                            on_error=lambda e: self._write_failed(photo, target, e))

    def _write_failed(self, photo: Path, target: Path, error) -> None:
        if photo != self._path or isinstance(error, Cancelled):
            return
        if not is_unwritable(error):
            self.errorOccurred.emit(error, f"save the hints to {target.name}")
            return
        # The photo's folder is read-only (a CD, a shared archive): ask where to keep them.
        self._asking = True
        try:
            start = Path.home() / target.name
            path, _ = QFileDialog.getSaveFileName(
                self._window, f"The hints cannot be saved beside {photo.name}: save them where?", str(start),
                f"Colour hints (*{SUFFIX})")
        finally:
            self._asking = False
        if photo != self._path:
            return
        if not path:
            self._hints_file = None
            self.message.emit(f"The hints of {photo.name} are not being saved")
            return
        self._hints_file = Path(path)
        self.places.remember(photo, self._hints_file)
        self._write()

    def _update_actions(self) -> None:
        has = len(self.list) > 0
        self.clear_action.setEnabled(has)
        self.delete_action.setEnabled(self.layer.selected() is not None)
