"""Reference photos of the open photo or video: adding them (a file dialog, or a drop on the
strip), removing them, and keeping their list beside the file.

A reference is read and checked on the engine thread; one that is gray, missing or unreadable is
refused with a message naming it and nothing changes. On a video a reference is for the shot
shown when it was added (its frame's time), until made one for every shot. Every change is a
command on the hints' undo stack; after each the list says ``changed``, the window re-renders,
and the list file is rewritten (or removed, when none is left) on the engine thread.
"""

from __future__ import annotations

import itertools
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog

from vidcolor.errors import Cancelled, ReferencePhotoError
from vidcolor.media import PHOTO_SUFFIXES

from .edit_list import EditList
from .hint_edits import AddHints
from .hint_sidecar import is_unwritable
from .reference_edits import AddReference, ClearReferences, RemoveReference, RescopeReference
from .reference_sidecar import LoadedReference, beside, load_reference, write_references

PHOTO_FILTER = "Colour photos (" + " ".join(f"*{s}" for s in sorted(PHOTO_SUFFIXES)) + ");;All files (*)"


def _load_all(ctx, paths: list[Path], t: float | None) -> list:
    """Each of ``paths`` as a reference, or the error that refused it."""
    out = []
    for path in paths:
        try:
            out.append(load_reference(ctx, path, t))
        except ReferencePhotoError as e:
            out.append(e)
    return out


class ReferenceEditor(QObject):
    changed = Signal()  # the references changed: the picture should be colourised again
    errorOccurred = Signal(object, str)  # exception, what was being done
    message = Signal(str)  # a note for the status bar

    def __init__(self, window, engine, strip, hint_editor, store):
        super().__init__(window)
        self._window = window
        self._engine = engine
        self._strip = strip
        self._hints = hint_editor
        self._store = store
        self.list = EditList(self)  # of LoadedReference
        self._path: Path | None = None  # the open photo or video
        self._video = False
        self._listing: Path | None = None  # where the list is written; None: not kept
        self._jobs = itertools.count(1)

        self.add_action = QAction("Add &Reference Photo…", self)
        self.add_action.setToolTip("Add a colour photo of what the picture shows: its colours are used where "
                                   "its content matches")
        self.add_action.setStatusTip(self.add_action.toolTip())
        self.add_action.triggered.connect(lambda: self.add_dialog())
        self.turn_action = QAction("&Turn Matched Points into Hints", self)
        self.turn_action.setToolTip("Make the points the reference photos gave into ordinary hints you can "
                                    "edit, and remove the reference photos")
        self.turn_action.setStatusTip(self.turn_action.toolTip())
        strip.set_add_action(self.add_action)
        strip.filesDropped.connect(lambda files: self.add_files(files))
        strip.removeRequested.connect(self.remove)
        strip.everyShotRequested.connect(self.use_on_every_shot)
        self.list.changed.connect(self._references_changed)
        self.list.changed.connect(self._show)
        self.list.reset.connect(self._show)
        self._show()

    # -- the open file -----------------------------------------------------------------------------
    def load(self, path: Path, items: list[LoadedReference], listing: Path | None, video: bool) -> None:
        """A photo or video was opened, with the references kept for it."""
        self._path, self._listing, self._video = Path(path), listing, video
        self.list.set_items(items)

    def listing_for(self, path: Path) -> Path:
        return beside(Path(path))

    def references(self) -> list:
        """The :class:`vidcolor.reference.Reference` of each, for the engine."""
        return [item.reference for item in self.list.items()]

    def items(self) -> list[LoadedReference]:
        return self.list.items()

    # -- edits -------------------------------------------------------------------------------------
    def add_dialog(self) -> None:
        if self._path is None:
            return
        start = self._store.value("dirs/references", str(self._path.parent))
        path, _ = QFileDialog.getOpenFileName(self._window, "Add a colour photo of what it shows", start, PHOTO_FILTER)
        if path:
            self._store.setValue("dirs/references", str(Path(path).parent))
            self.add_files([path])

    def add_files(self, paths: list) -> None:
        """Check each of ``paths`` on the engine thread and add those that are colour photos; on a
        video, for the shot shown now."""
        if self._path is None:
            return
        t = self._hints.frame_time() if self._video else None
        opened = self._path
        self._engine.submit(f"reference-add:{next(self._jobs)}",
                            partial(_load_all, paths=[Path(p) for p in paths], t=t),
                            on_done=lambda results: self._loaded(opened, results),
                            on_error=lambda e: self._add_failed(opened, e))

    def _loaded(self, opened: Path, results: list) -> None:
        if opened != self._path:
            return  # another file was opened meanwhile
        have = {item.path.resolve() for item in self.list.items()}
        for result in results:
            if isinstance(result, Exception):
                self.errorOccurred.emit(result, "add the reference photo")
            elif result.path.resolve() in have:
                self.message.emit(f"{result.path.name} is already a reference photo")
            else:
                have.add(result.path.resolve())
                self._hints.undo_stack.push(AddReference(self.list, result))

    def _add_failed(self, opened: Path, error) -> None:
        if opened == self._path and not isinstance(error, Cancelled):
            self.errorOccurred.emit(error, "add the reference photo")

    def remove(self, index: int) -> None:
        if 0 <= index < len(self.list):
            self._hints.undo_stack.push(RemoveReference(self.list, index))

    def use_on_every_shot(self, index: int) -> None:
        if 0 <= index < len(self.list) and self.list[index].t is not None:
            self._hints.undo_stack.push(RescopeReference(self.list, index, None))

    def turn_into_hints(self, matched: list) -> None:
        """``matched`` (the points the references gave the result shown) become ordinary hints, and
        the references go, so that the two do not double up; one undo step brings both back."""
        from vidcolor.reference import as_own  # imports torch: loaded by now, for the model

        if not matched or not len(self.list):
            return
        stack = self._hints.undo_stack
        stack.beginMacro(self.turn_action.text().replace("&", ""))
        stack.push(AddHints(self._hints.list, as_own(matched), "Add Matched Hints"))
        stack.push(ClearReferences(self.list))
        stack.endMacro()

    # -- keeping the list --------------------------------------------------------------------------
    def _show(self) -> None:
        self._strip.set_references(self.list.items(), self._video)
        self._strip.setVisible(self._path is not None)
        self.add_action.setEnabled(self._path is not None)

    def _references_changed(self) -> None:
        self.changed.emit()
        if self._listing is None:
            return
        target, opened = self._listing, self._path
        entries = [(item.path, item.t) for item in self.list.items()]
        self._engine.submit("references-file", partial(write_references, path=target, entries=entries),
                            on_error=lambda e: self._write_failed(opened, target, e))

    def _write_failed(self, opened: Path, target: Path, error) -> None:
        if opened != self._path or isinstance(error, Cancelled):
            return
        if is_unwritable(error):  # a read-only folder: the references still work, unsaved
            self._listing = None
            self.message.emit(f"The reference photos of {opened.name} cannot be saved beside it")
        else:
            self.errorOccurred.emit(error, f"save the reference photos to {target.name}")
