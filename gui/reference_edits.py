"""The open photo's or video's reference photos and the undoable edits to them.

They share the hints' undo stack: turning matched points into hints is one step that adds the
hints and removes the references, and undo must bring both back together.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand

from .reference_sidecar import LoadedReference


class ReferenceList(QObject):
    changed = Signal()  # an edit, an undo or a redo
    reset = Signal()  # replaced wholesale (another file opened): nothing to save

    def __init__(self, parent=None):
        super().__init__(parent)
        self._items: list[LoadedReference] = []

    def items(self) -> list[LoadedReference]:
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i: int) -> LoadedReference:
        return self._items[i]

    def set_items(self, items: list[LoadedReference]) -> None:
        self._items = list(items)
        self.reset.emit()

    def _set_all(self, items: list[LoadedReference]) -> None:
        self._items = list(items)
        self.changed.emit()


class _SetReferences(QUndoCommand):
    def __init__(self, text: str, refs: ReferenceList, new: list[LoadedReference]):
        super().__init__(text)
        self._refs, self._old, self._new = refs, refs.items(), list(new)

    def redo(self) -> None:
        self._refs._set_all(self._new)

    def undo(self) -> None:
        self._refs._set_all(self._old)


class AddReference(_SetReferences):
    def __init__(self, refs: ReferenceList, item: LoadedReference):
        super().__init__("Add Reference Photo", refs, refs.items() + [item])


class RemoveReference(_SetReferences):
    def __init__(self, refs: ReferenceList, index: int):
        super().__init__("Remove Reference Photo", refs, [r for i, r in enumerate(refs.items()) if i != index])


class RescopeReference(_SetReferences):
    def __init__(self, refs: ReferenceList, index: int, t: float | None):
        items = refs.items()
        items[index] = items[index].at(t)
        super().__init__("Use Reference on Every Shot" if t is None else "Use Reference on This Shot", refs, items)


class ClearReferences(_SetReferences):
    def __init__(self, refs: ReferenceList):
        super().__init__("Remove Reference Photos", refs, [])
