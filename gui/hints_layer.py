"""The colour hints drawn over the photo: small rings filled with each hint's colour, that can be
selected, dragged, recoloured (double click) and deleted or recoloured from a context menu; and,
fainter and smaller, the points a reference photo gave (they are not edited here).

The layer only draws and interprets the mouse; every change it asks for goes out as a signal, so
the editor can make it an undoable command. While a marker is dragged it is drawn where the mouse
is, and the hint itself moves once, on release.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QApplication, QMenu

from .hint_edits import HintList

MARKER_RADIUS = 7.0  # logical pixels: big enough to see the colour, small enough not to hide the spot
GRAB_RADIUS = 11.0  # a press this close to a marker's centre takes it
SELECTED = QColor(61, 174, 233)  # the Fusion style's highlight blue
MATCHED_RADIUS = 3.5  # a reference's points: many and close, so small and faint not to hide the picture
MATCHED_ALPHA = 150


class HintsLayer(QObject):
    moveRequested = Signal(int, QPointF)  # hint index, new image point
    recolourRequested = Signal(int)
    deleteRequested = Signal(int)
    placeRequested = Signal(QPointF)  # image point
    clearRequested = Signal()
    selectionChanged = Signal()

    def __init__(self, view, hints: HintList, parent=None):
        super().__init__(parent)
        self._view = view
        self._hints = hints
        self._enabled = False
        self._selected: int | None = None
        self._drag_index: int | None = None
        self._drag_start = QPointF()
        self._drag_point: QPointF | None = None  # image point under the mouse while dragging
        self._pending: QPointF | None = None  # where a hint is about to go (its colour being chosen)
        self._scale = 1.0  # image points per hint pixel (a video's frame is shown reduced)
        self._shows = None  # which hints have a marker: all, or those of the frame shown (a video)
        self._matched: list = []  # the points the references gave the result shown
        hints.changed.connect(self._hints_changed)
        hints.reset.connect(self._hints_changed)
        view.set_overlay(self)

    # -- state -------------------------------------------------------------------------------------
    def set_enabled(self, on: bool) -> None:
        """Markers are shown and taken only while a photo is open."""
        self._enabled = on
        self._drag_index = self._drag_point = self._pending = None
        self.select(None)
        self._view.update()

    def set_frame(self, scale: float, shows) -> None:
        """Hints are at pixels of a picture shown ``scale`` times their size, and only those for
        which ``shows(hint)`` is true have a marker (None: all of them)."""
        self._scale, self._shows = scale, shows
        self._drag_index = self._drag_point = None
        if self._selected is not None and (self._selected >= len(self._hints) or not self.shown(self._selected)):
            self.select(None)
        self._view.update()

    def set_matched(self, hints: list) -> None:
        """The points the reference photos gave the result shown (at hint pixels)."""
        self._matched = list(hints)
        self._view.update()

    def matched(self) -> list:
        return list(self._matched)

    def shown(self, i: int) -> bool:
        """Whether hint ``i`` has a marker on the picture shown."""
        return self._shows is None or bool(self._shows(self._hints[i]))

    def image_point(self, x: float, y: float) -> QPointF:
        """The image point of the middle of hint pixel (``x``, ``y``)."""
        return QPointF((x + 0.5) * self._scale, (y + 0.5) * self._scale)

    def selected(self) -> int | None:
        return self._selected

    def select(self, index: int | None) -> None:
        if index != self._selected:
            self._selected = index
            self.selectionChanged.emit()
            self._view.update()

    def set_pending(self, point: QPointF | None) -> None:
        self._pending = point
        self._view.update()

    def marker_at(self, pos: QPointF) -> int | None:
        """The topmost hint whose marker is under widget position ``pos``."""
        for i in reversed(range(len(self._hints))):
            if not self.shown(i):
                continue
            for centre, _pane in self._view.image_positions(self._centre(i)):
                if _dist(centre, pos) <= GRAB_RADIUS:
                    return i
        return None

    def _centre(self, i: int) -> QPointF:
        if i == self._drag_index and self._drag_point is not None:
            return self._drag_point
        h = self._hints[i]
        return self.image_point(h.x, h.y)  # the middle of the hint's pixel

    def _hints_changed(self) -> None:
        if self._selected is not None and self._selected >= len(self._hints):
            self.select(None)
        self._view.update()

    # -- painting ----------------------------------------------------------------------------------
    def paint(self, p: QPainter, view) -> None:
        if not self._enabled:
            return
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        for h in self._matched:
            self._paint_matched(p, view, self.image_point(h.x, h.y), QColor(h.color))
        for i in range(len(self._hints)):
            if not self.shown(i):
                continue
            self._paint_marker(p, view, self._centre(i), QColor(self._hints[i].color), i == self._selected)
        if self._pending is not None:
            self._paint_marker(p, view, self._pending, None, True)

    @staticmethod
    def _paint_matched(p: QPainter, view, point: QPointF, fill: QColor) -> None:
        fill.setAlpha(MATCHED_ALPHA)
        for centre, pane in view.image_positions(point):
            p.setClipRect(pane)
            p.setPen(QPen(QColor(255, 255, 255, MATCHED_ALPHA), 1))
            p.setBrush(fill)
            p.drawEllipse(centre, MATCHED_RADIUS, MATCHED_RADIUS)
        p.setClipping(False)

    @staticmethod
    def _paint_marker(p: QPainter, view, point: QPointF, fill: QColor | None, selected: bool) -> None:
        r = MARKER_RADIUS
        for centre, pane in view.image_positions(point):
            p.setClipRect(pane)
            if selected:
                p.setPen(QPen(SELECTED, 3))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawEllipse(centre, r + 3.5, r + 3.5)
            # A white ring inside a dark one shows on light and dark photos alike.
            p.setPen(QPen(QColor(0, 0, 0, 200), 4))
            p.setBrush(fill if fill is not None else Qt.BrushStyle.NoBrush)
            p.drawEllipse(centre, r, r)
            p.setPen(QPen(QColor(255, 255, 255), 2))
            p.drawEllipse(centre, r, r)
            if fill is None:  # the colour is being chosen: a cross marks the exact pixel
                p.drawLine(centre - QPointF(3, 0), centre + QPointF(3, 0))
                p.drawLine(centre - QPointF(0, 3), centre + QPointF(0, 3))
        p.setClipping(False)

    # -- mouse -------------------------------------------------------------------------------------
    def mouse_press(self, view, event) -> bool:
        if not self._enabled or event.button() != Qt.MouseButton.LeftButton:
            return False
        i = self.marker_at(event.position())
        if i is None:
            self.select(None)
            return False
        self.select(i)
        self._drag_index = i
        self._drag_start = event.position()
        self._drag_point = None
        view.setCursor(Qt.CursorShape.ClosedHandCursor)
        return True

    def mouse_move(self, view, event) -> bool:
        if not self._enabled:
            return False
        pos = event.position()
        if self._drag_index is not None:
            still = (pos - self._drag_start).manhattanLength() < QApplication.startDragDistance()
            if self._drag_point is None and still:
                return True  # a click on the marker, not yet a drag
            point = view.image_point(pos)
            if point is not None:  # the marker stays on the picture
                self._drag_point = point
                view.update()
            return True
        if self.marker_at(pos) is not None:
            view.setCursor(Qt.CursorShape.OpenHandCursor if event.buttons() == Qt.MouseButton.NoButton
                           else Qt.CursorShape.ClosedHandCursor)
            return True
        return False

    def mouse_release(self, view, event) -> bool:
        if self._drag_index is None or event.button() != Qt.MouseButton.LeftButton:
            return False
        index, point = self._drag_index, self._drag_point
        self._drag_index = self._drag_point = None
        view.setCursor(Qt.CursorShape.OpenHandCursor)
        view.update()
        if point is not None:
            self.moveRequested.emit(index, point)
        return True

    def mouse_double_click(self, view, event) -> bool:
        if not self._enabled or event.button() != Qt.MouseButton.LeftButton:
            return False
        i = self.marker_at(event.position())
        if i is None:
            return False
        self.select(i)
        self.recolourRequested.emit(i)
        return True

    def context_menu(self, view, event) -> bool:
        if not self._enabled:
            return False
        pos = QPointF(event.pos())
        i = self.marker_at(pos)
        menu = QMenu(view)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if i is not None:
            self.select(i)
            menu.addAction("Recolour Hint…", lambda: self.recolourRequested.emit(i))
            menu.addAction("Delete Hint", lambda: self.deleteRequested.emit(i))
        else:
            point = view.image_point(pos)
            if point is None:
                return False
            menu.addAction("Add Hint Here…", lambda: self.placeRequested.emit(point))
        menu.addSeparator()
        menu.addAction("Clear Hints", self.clearRequested.emit).setEnabled(len(self._hints) > 0)
        menu.popup(event.globalPos())  # not exec(): nothing waits on the menu
        return True


def _dist(a: QPointF, b: QPointF) -> float:
    d = a - b
    return (d.x() ** 2 + d.y() ** 2) ** 0.5
