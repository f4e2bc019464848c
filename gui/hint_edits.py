"""The open photo's colour hints and the undoable edits to them.

Every change goes through a QUndoCommand on one QUndoStack, so undo and redo restore exactly the
list that was there; the list says ``changed`` after each, and the window re-renders and saves.
Commands address hints by index: each is undone against the list it left behind.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand

if TYPE_CHECKING:  # the module itself imports torch, which the window must not wait for
    from vidcolor.hints import Hint


class HintList(QObject):
    """An ordered list of :class:`vidcolor.hints.Hint` that tells when it changes."""

    changed = Signal()  # an edit, an undo or a redo
    reset = Signal()  # replaced wholesale (another photo, or its saved hints loaded): nothing to save

    def __init__(self, parent=None):
        super().__init__(parent)
        self._hints: list[Hint] = []

    def hints(self) -> list[Hint]:
        return list(self._hints)

    def __len__(self) -> int:
        return len(self._hints)

    def __getitem__(self, i: int) -> Hint:
        return self._hints[i]

    def set_hints(self, hints: list[Hint]) -> None:
        self._hints = list(hints)
        self.reset.emit()

    def _insert(self, i: int, hint: Hint) -> None:
        self._hints.insert(i, hint)
        self.changed.emit()

    def _replace(self, i: int, hint: Hint) -> None:
        self._hints[i] = hint
        self.changed.emit()

    def _remove(self, i: int) -> Hint:
        hint = self._hints.pop(i)
        self.changed.emit()
        return hint

    def _set_all(self, hints: list[Hint]) -> None:
        self._hints = list(hints)
        self.changed.emit()


class AddHint(QUndoCommand):
    def __init__(self, hints: HintList, hint: Hint):
        super().__init__("Add Hint")
        self._hints, self._hint, self._index = hints, hint, len(hints)

    def redo(self) -> None:
        self._hints._insert(self._index, self._hint)

    def undo(self) -> None:
        self._hints._remove(self._index)


class _ReplaceHint(QUndoCommand):
    def __init__(self, text: str, hints: HintList, index: int, new: Hint):
        super().__init__(text)
        self._hints, self._index, self._old, self._new = hints, index, hints[index], new

    def redo(self) -> None:
        self._hints._replace(self._index, self._new)

    def undo(self) -> None:
        self._hints._replace(self._index, self._old)


class MoveHint(_ReplaceHint):
    def __init__(self, hints: HintList, index: int, x: int, y: int):
        super().__init__("Move Hint", hints, index, replace(hints[index], x=x, y=y))


class RecolourHint(_ReplaceHint):
    def __init__(self, hints: HintList, index: int, color: str):
        super().__init__("Recolour Hint", hints, index, replace(hints[index], color=color))


class DeleteHint(QUndoCommand):
    def __init__(self, hints: HintList, index: int):
        super().__init__("Delete Hint")
        self._hints, self._index, self._hint = hints, index, hints[index]

    def redo(self) -> None:
        self._hints._remove(self._index)

    def undo(self) -> None:
        self._hints._insert(self._index, self._hint)


class AddHints(QUndoCommand):
    def __init__(self, hints: HintList, new: list[Hint], text: str = "Add Hints"):
        super().__init__(text)
        self._hints, self._old, self._new = hints, hints.hints(), list(new)

    def redo(self) -> None:
        self._hints._set_all(self._old + self._new)

    def undo(self) -> None:
        self._hints._set_all(self._old)


class ClearHints(QUndoCommand):
    def __init__(self, hints: HintList):
        super().__init__("Clear Hints")
        self._hints, self._old = hints, hints.hints()

    def redo(self) -> None:
        self._hints._set_all([])

    def undo(self) -> None:
        self._hints._set_all(self._old)
