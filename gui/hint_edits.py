"""The open photo's colour hints and the undoable edits to them.

Every change goes through a QUndoCommand on one QUndoStack, so undo and redo restore exactly the
list that was there; the list says ``changed`` after each, and the window re-renders and saves.
Commands address hints by index: each is undone against the list it left behind.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtGui import QUndoCommand

from .edit_list import EditList, SetAll

if TYPE_CHECKING:  # the module itself imports torch, which the window must not wait for
    from vidcolor.hints import Hint


class HintList(EditList):
    """An ordered list of :class:`vidcolor.hints.Hint` that tells when it changes."""

    def hints(self) -> list[Hint]:
        return self.items()

    def set_hints(self, hints: list[Hint]) -> None:
        self.set_items(hints)


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


class AddHints(SetAll):
    def __init__(self, hints: HintList, new: list[Hint], text: str = "Add Hints"):
        super().__init__(text, hints, hints.items() + list(new))


class ClearHints(SetAll):
    def __init__(self, hints: HintList):
        super().__init__("Clear Hints", hints, [])
