"""The open photo's or video's reference photos and the undoable edits to them.

They share the hints' undo stack: turning matched points into hints is one step that adds the
hints and removes the references, and undo must bring both back together.
"""

from __future__ import annotations

from .edit_list import EditList, SetAll
from .reference_sidecar import LoadedReference


class AddReference(SetAll):
    def __init__(self, refs: EditList, item: LoadedReference):
        super().__init__("Add Reference Photo", refs, refs.items() + [item])


class RemoveReference(SetAll):
    def __init__(self, refs: EditList, index: int):
        super().__init__("Remove Reference Photo", refs, [r for i, r in enumerate(refs.items()) if i != index])


class RescopeReference(SetAll):
    def __init__(self, refs: EditList, index: int, t: float | None):
        items = refs.items()
        items[index] = items[index].at(t)
        super().__init__("Use Reference on Every Shot" if t is None else "Use Reference on This Shot", refs, items)


class ClearReferences(SetAll):
    def __init__(self, refs: EditList):
        super().__init__("Remove Reference Photos", refs, [])
