"""An ordered list that tells when it changes, and the undoable command that replaces it whole:
what the hints and the reference photos both keep on one undo stack."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand


class EditList(QObject):
    changed = Signal()  # an edit, an undo or a redo
    reset = Signal()  # replaced wholesale (another file opened, or its saved list loaded): nothing to save

    def __init__(self, parent=None):
        super().__init__(parent)
        self._items: list = []

    def items(self) -> list:
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i: int):
        return self._items[i]

    def set_items(self, items: list) -> None:
        self._items = list(items)
        self.reset.emit()

    def _insert(self, i: int, item) -> None:
        self._items.insert(i, item)
        self.changed.emit()

    def _replace(self, i: int, item) -> None:
        self._items[i] = item
        self.changed.emit()

    def _remove(self, i: int):
        item = self._items.pop(i)
        self.changed.emit()
        return item

    def _set_all(self, items: list) -> None:
        self._items = list(items)
        self.changed.emit()


class SetAll(QUndoCommand):
    """``target`` becomes ``new``; undo gives back what it was."""

    def __init__(self, text: str, target: EditList, new: list):
        super().__init__(text)
        self._target, self._old, self._new = target, target.items(), list(new)

    def redo(self) -> None:
        self._target._set_all(self._new)

    def undo(self) -> None:
        self._target._set_all(self._old)
