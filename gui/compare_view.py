"""The before/after image area: a wipe split over one image, side-by-side panes, or the result alone.

All layouts share one view transform (zoom and the image point at each pane's centre), which is
what keeps the two halves or panes in step while zooming and panning. Zoom is counted in device
pixels per image pixel, so "100%" shows every image pixel on one screen pixel on high-DPI
screens too.

An overlay (the colour hints' markers) may paint over the images and take the mouse first; a
click on the picture that is neither a drag nor part of a double click is ``imageClicked``.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QImage, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QApplication, QSizePolicy, QWidget

from .images import Pyramid

SPLIT, SIDE, SINGLE = "split", "side", "single"
MODES = (SPLIT, SIDE, SINGLE)

BACKGROUND = QColor(38, 38, 40)  # neutral, so it does not tint how the colours are judged
HANDLE_GRAB = 8  # logical pixels either side of the split line that grab it
PANE_GAP = 6
FIT_MARGIN = 12
MAX_ZOOM = 32.0
WHEEL_STEP = 1.0015  # per wheel eighth-degree: one notch (120) zooms about 20%


class CompareView(QWidget):
    viewChanged = Signal()  # zoom or pan changed
    splitChanged = Signal(float)
    imageClicked = Signal(QPointF)  # a plain click on the picture, in image pixels

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._before: Pyramid | None = None
        self._after: Pyramid | None = None
        self._pending_text = ""
        self._mode = SPLIT
        self._show_original = False
        self._split = 0.5
        self._zoom = 1.0
        self._center = QPointF()
        self._fit = True
        self._drag: str | None = None  # "split" or "pan" while a button is held
        self._drag_origin = QPointF()
        self._drag_center = QPointF()
        self._placeholder = "Open a photo or video\n\nCtrl+O, or drop a file here"
        self._checker = _checker_brush()
        self._overlay = None
        self._press_pos: QPointF | None = None  # where a press that may still be a click began
        # A click is only told once no second click follows: a double click zooms instead.
        self._click_timer = QTimer(self, singleShot=True, interval=QApplication.doubleClickInterval())
        self._click_timer.timeout.connect(self._emit_click)
        self._click_point = QPointF()

    # -- content -----------------------------------------------------------------------------------
    def set_images(self, before: QImage | Pyramid | None, after: QImage | Pyramid | None = None,
                   pending_text: str = "") -> None:
        """Show a new pair; the view is kept when the new pair has the same shape (a new frame).

        Large images are best passed as a :class:`Pyramid` built on the worker thread."""
        old = self._before
        self._before = _pyramid(before)
        self._after = _pyramid(after)
        self._pending_text = pending_text
        if self._before is None:
            self._fit = True
        elif old is None or self._fit:
            self.fit_to_window()
        elif (old.width(), old.height()) != (self._before.width(), self._before.height()):
            # Same scene at another resolution (scrub frame vs. reduced preview): keep what is seen.
            ratio = self._before.width() / old.width()
            self._center = QPointF(self._center.x() * ratio, self._center.y() * ratio)
            self._zoom /= ratio
        self.viewChanged.emit()
        self.update()

    def set_after(self, after: QImage | Pyramid | None, pending_text: str = "") -> None:
        self._after = _pyramid(after)
        self._pending_text = pending_text
        self.update()

    def set_pending(self, text: str) -> None:
        """A note over the result ("Colourising…") while a newer one is being made."""
        if text != self._pending_text:
            self._pending_text = text
            self.update()

    def clear(self, placeholder: str | None = None) -> None:
        if placeholder is not None:
            self._placeholder = placeholder
        self.set_images(None)

    def has_image(self) -> bool:
        return self._before is not None

    def set_overlay(self, overlay) -> None:
        """Something painted over the images that sees mouse events first: an object with
        ``paint(painter, view)`` and ``mouse_press``, ``mouse_move``, ``mouse_release``,
        ``mouse_double_click``, ``context_menu(view, event)``, each returning True when it took
        the event."""
        self._overlay = overlay
        self.update()

    def before_image(self) -> QImage | None:
        return self._before.image if self._before else None

    def after_image(self) -> QImage | None:
        return self._after.image if self._after else None

    # -- layout and view state -----------------------------------------------------------------------
    def mode(self) -> str:
        return self._mode

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown compare mode {mode!r}")
        if mode != self._mode:
            self._mode = mode
            if self._fit:
                self.fit_to_window()
            self.update()

    def show_original(self) -> bool:
        return self._show_original

    def set_show_original(self, on: bool) -> None:
        if on != self._show_original:
            self._show_original = on
            if self._fit:
                self.fit_to_window()
            self.update()

    def split(self) -> float:
        return self._split

    def set_split(self, fraction: float) -> None:
        fraction = min(1.0, max(0.0, float(fraction)))
        if fraction != self._split:
            self._split = fraction
            self.splitChanged.emit(fraction)
            self.update()

    def zoom(self) -> float:
        return self._zoom

    def center(self) -> QPointF:
        return QPointF(self._center)

    def is_fit(self) -> bool:
        return self._fit

    def fit_to_window(self) -> None:
        self._fit = True
        if self._before is None:
            return
        self._zoom = self._fit_zoom()
        self._center = QPointF(self._before.width() / 2, self._before.height() / 2)
        self.viewChanged.emit()
        self.update()

    def actual_size(self) -> None:
        self.set_zoom(1.0)

    def zoom_in(self) -> None:
        self.set_zoom(self._zoom * 1.25)

    def zoom_out(self) -> None:
        self.set_zoom(self._zoom / 1.25)

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom keeping the image point under ``anchor`` (widget coordinates; default the pane centre) still."""
        if self._before is None:
            return
        zoom = min(MAX_ZOOM, max(self._min_zoom(), zoom))
        pane = self._pane_at(anchor) if anchor is not None else self._panes()[0]
        anchor = anchor if anchor is not None else pane.center()
        image_point = self._to_image(anchor, pane)
        self._zoom = zoom
        offset = (anchor - pane.center()) / self._scale()
        self._center = self._clamped(image_point - offset)
        self._fit = False
        self.viewChanged.emit()
        self.update()

    def _scale(self) -> float:
        """Logical widget pixels per image pixel."""
        return self._zoom / self.devicePixelRatioF()

    def _fit_zoom(self) -> float:
        pane = self._panes()[0]
        w = max(1.0, pane.width() - 2 * FIT_MARGIN)
        h = max(1.0, pane.height() - 2 * FIT_MARGIN)
        return min(w / self._before.width(), h / self._before.height()) * self.devicePixelRatioF()

    def _min_zoom(self) -> float:
        return min(self._fit_zoom(), 1.0) / 4

    def _clamped(self, p: QPointF) -> QPointF:
        return QPointF(min(max(p.x(), 0.0), self._before.width()), min(max(p.y(), 0.0), self._before.height()))

    def _single_pane(self) -> bool:
        return self._show_original or self._mode != SIDE

    def _panes(self) -> list[QRectF]:
        r = QRectF(self.rect())
        if self._single_pane():
            return [r]
        w = (r.width() - PANE_GAP) / 2
        return [QRectF(0, 0, w, r.height()), QRectF(w + PANE_GAP, 0, w, r.height())]

    def _pane_at(self, pos: QPointF) -> QRectF:
        panes = self._panes()
        return panes[1] if len(panes) == 2 and pos.x() > panes[0].right() else panes[0]

    def _to_image(self, pos: QPointF, pane: QRectF) -> QPointF:
        return self._center + (pos - pane.center()) / self._scale()

    def _image_rect(self, pane: QRectF) -> QRectF:
        s = self._scale()
        w, h = self._before.width() * s, self._before.height() * s
        c = pane.center()
        return QRectF(c.x() - self._center.x() * s, c.y() - self._center.y() * s, w, h)

    def image_positions(self, point: QPointF) -> list[tuple[QPointF, QRectF]]:
        """Where image point ``point`` is on the widget: (position, its pane) for each pane that
        shows the picture (two side by side)."""
        if self._before is None:
            return []
        s = self._scale()
        out = []
        for pane in self._panes():
            pos = pane.center() + (point - self._center) * s
            if pane.contains(pos):
                out.append((pos, pane))
        return out

    def image_point(self, pos: QPointF) -> QPointF | None:
        """The image point under widget position ``pos``; None off the picture."""
        if self._before is None:
            return None
        p = self._to_image(pos, self._pane_at(pos))
        inside = 0 <= p.x() < self._before.width() and 0 <= p.y() < self._before.height()
        return p if inside else None

    def display_side(self) -> int:
        """The picture's longer side in device pixels when it fills the widget: a result made at
        this size looks as sharp as the full one until zoomed in."""
        if self._before is None:
            return 0
        w, h = self._before.width(), self._before.height()
        fit = min(self.width() / w, self.height() / h) * self.devicePixelRatioF()
        return math.ceil(max(w, h) * min(1.0, fit))

    def _split_x(self) -> float:
        return self._split * self.width()

    def _on_split_handle(self, pos: QPointF) -> bool:
        return (self._before is not None and self._mode == SPLIT and not self._show_original
                and abs(pos.x() - self._split_x()) <= HANDLE_GRAB)

    # -- painting ----------------------------------------------------------------------------------
    def sizeHint(self) -> QSize:
        return QSize(800, 560)

    def minimumSizeHint(self) -> QSize:
        return QSize(240, 180)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), BACKGROUND)
        if self._before is None:
            self._paint_placeholder(p)
            return
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self._zoom < 2)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        after = self._after or self._before  # until the result arrives, its side shows the original
        panes = self._panes()
        if self._show_original or self._mode == SINGLE:
            showing_before = self._show_original
            self._paint_image(p, self._before if showing_before else after, panes[0], panes[0])
            self._paint_overlay(p)
            self._badge(p, "Before" if showing_before else "After", self._badge_area(panes[0]), left=True)
            if not showing_before:
                self._pending_badge(p, panes[0])
        elif self._mode == SIDE:
            self._paint_image(p, self._before, panes[0], panes[0])
            self._paint_image(p, after, panes[1], panes[1])
            self._paint_overlay(p)
            self._badge(p, "Before", self._badge_area(panes[0]), left=True)
            self._badge(p, "After", self._badge_area(panes[1]), left=True)
            self._pending_badge(p, panes[1])
        else:
            pane = panes[0]
            x = self._split_x()
            self._paint_image(p, self._before, pane, QRectF(0, 0, x, pane.height()))
            self._paint_image(p, after, pane, QRectF(x, 0, pane.width() - x, pane.height()))
            self._paint_overlay(p)
            area = self._badge_area(pane)
            if x - area.left() > 90:
                self._badge(p, "Before", area, left=True)
            if area.right() - x > 90:
                self._badge(p, "After", area, left=False)
                self._pending_badge(p, QRectF(x, 0, pane.width() - x, pane.height()))
            self._paint_handle(p, x)

    def _paint_image(self, p: QPainter, image: Pyramid, pane: QRectF, clip: QRectF) -> None:
        target = self._image_rect(pane)
        visible = target.intersected(clip).intersected(pane)
        if visible.isEmpty():
            return
        # Each image fills the reference (before) geometry, whatever its own pixel size.
        s_img = target.width() / image.width()
        level, factor = image.level_for(s_img * self.devicePixelRatioF())
        k = factor / s_img
        source = QRectF((visible.x() - target.x()) * k, (visible.y() - target.y()) * k,
                        visible.width() * k, visible.height() * k)
        if level.hasAlphaChannel():
            p.fillRect(visible, self._checker)
        p.drawImage(visible, level, source)

    def _paint_overlay(self, p: QPainter) -> None:
        if self._overlay is not None:
            p.save()
            self._overlay.paint(p, self)
            p.restore()

    def _paint_handle(self, p: QPainter, x: float) -> None:
        h = self.height()
        p.setPen(QPen(QColor(0, 0, 0, 110), 3))
        p.drawLine(QPointF(x, 0), QPointF(x, h))
        p.setPen(QPen(QColor(255, 255, 255, 230), 1.5))
        p.drawLine(QPointF(x, 0), QPointF(x, h))
        knob = QRectF(x - 14, h / 2 - 14, 28, 28)
        p.setPen(QPen(QColor(0, 0, 0, 90), 1))
        p.setBrush(QColor(255, 255, 255, 235))
        p.drawEllipse(knob)
        p.setBrush(QColor(50, 50, 50))
        p.setPen(Qt.PenStyle.NoPen)
        cy = knob.center().y()
        for sign in (-1, 1):  # two small arrows: this line moves sideways
            tip = x + sign * 9
            path = QPainterPath(QPointF(tip, cy))
            path.lineTo(tip - sign * 5, cy - 5)
            path.lineTo(tip - sign * 5, cy + 5)
            path.closeSubpath()
            p.drawPath(path)

    def _badge_area(self, pane: QRectF) -> QRectF:
        """Where the image shows in ``pane``: labels sit on the picture's corners, not in the margin."""
        area = self._image_rect(pane).intersected(pane)
        return area if area.width() > 60 and area.height() > 40 else pane

    def _badge(self, p: QPainter, text: str, pane: QRectF, left: bool) -> None:
        font = QFont(self.font())
        font.setPointSizeF(max(8.0, font.pointSizeF() * 0.95))
        font.setWeight(QFont.Weight.DemiBold)
        p.setFont(font)
        fm = p.fontMetrics()
        w, h = fm.horizontalAdvance(text) + 16, fm.height() + 6
        x = pane.left() + 10 if left else pane.right() - 10 - w
        box = QRectF(x, pane.top() + 10, w, h)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 150))
        p.drawRoundedRect(box, 4, 4)
        p.setPen(QColor(240, 240, 240))
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    def _pending_badge(self, p: QPainter, area: QRectF) -> None:
        if not self._pending_text or area.width() < 120:
            return
        fm = p.fontMetrics()
        w, h = fm.horizontalAdvance(self._pending_text) + 24, fm.height() + 10
        box = QRectF(area.center().x() - w / 2, area.bottom() - h - 16, w, h)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 170))
        p.drawRoundedRect(box, h / 2, h / 2)
        p.setPen(QColor(255, 255, 255))
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, self._pending_text)

    def _paint_placeholder(self, p: QPainter) -> None:
        r = QRectF(self.rect()).adjusted(24, 24, -24, -24)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(QColor(110, 110, 115), 1.5, Qt.PenStyle.DashLine)
        p.setPen(pen)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRoundedRect(r, 12, 12)
        p.setPen(QColor(170, 170, 175))
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.2)
        p.setFont(font)
        p.drawText(r, Qt.AlignmentFlag.AlignCenter, self._placeholder)

    # -- interaction -------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        self._press_pos = None
        if self._before is not None and self._overlay is not None and self._overlay.mouse_press(self, event):
            event.accept()
            return
        if event.button() != Qt.MouseButton.LeftButton or self._before is None:
            return super().mousePressEvent(event)
        pos = event.position()
        self._click_timer.stop()
        if self._on_split_handle(pos):
            self._drag = "split"
            self.setCursor(Qt.CursorShape.SplitHCursor)
        else:
            self._drag = "pan"
            self._press_pos = pos
            self._drag_origin = pos
            self._drag_center = QPointF(self._center)
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        event.accept()

    def mouseMoveEvent(self, event) -> None:
        pos = event.position()
        if self._overlay is not None and self._drag is None and self._overlay.mouse_move(self, event):
            return
        moved = self._press_pos is not None and (pos - self._press_pos).manhattanLength()
        if moved and moved >= QApplication.startDragDistance():
            self._press_pos = None  # a drag, not a click
        if self._drag == "split":
            self.set_split(pos.x() / max(1, self.width()))
        elif self._drag == "pan":
            self._center = self._clamped(self._drag_center - (pos - self._drag_origin) / self._scale())
            self._fit = False
            self.viewChanged.emit()
            self.update()
        elif self._before is not None:
            self.setCursor(Qt.CursorShape.SplitHCursor if self._on_split_handle(pos)
                           else Qt.CursorShape.OpenHandCursor)

    def mouseReleaseEvent(self, event) -> None:
        if self._overlay is not None and self._drag is None and self._overlay.mouse_release(self, event):
            return
        if event.button() == Qt.MouseButton.LeftButton and self._drag:
            clicked = self._drag == "pan" and self._press_pos is not None
            self._drag = None
            self._press_pos = None
            point = self.image_point(event.position()) if clicked else None
            if point is not None:
                self._click_point = point
                self._click_timer.start()
            self.setCursor(Qt.CursorShape.SplitHCursor if self._on_split_handle(event.position())
                           else Qt.CursorShape.OpenHandCursor)
            event.accept()

    def mouseDoubleClickEvent(self, event) -> None:
        self._click_timer.stop()  # the first click of a double click places nothing
        if self._before is None or self._on_split_handle(event.position()):
            return
        if self._overlay is not None and self._overlay.mouse_double_click(self, event):
            return
        if self._fit:
            self.set_zoom(1.0, event.position())
        else:
            self.fit_to_window()

    def contextMenuEvent(self, event) -> None:
        if self._before is not None and self._overlay is not None and self._overlay.context_menu(self, event):
            event.accept()
            return
        super().contextMenuEvent(event)

    def _emit_click(self) -> None:
        if self._before is not None:
            self.imageClicked.emit(QPointF(self._click_point))

    def wheelEvent(self, event) -> None:
        if self._before is None:
            return
        steps = event.angleDelta().y() or event.angleDelta().x()
        if steps:
            self.set_zoom(self._zoom * WHEEL_STEP ** steps, event.position())
        event.accept()

    def resizeEvent(self, event) -> None:
        if self._fit and self._before is not None:
            self._zoom = self._fit_zoom()
        super().resizeEvent(event)


def _pyramid(image: QImage | Pyramid | None) -> Pyramid | None:
    if image is None or isinstance(image, Pyramid):
        return image
    return None if image.isNull() else Pyramid(image)


def _checker_brush() -> QBrush:
    tile = QPixmap(16, 16)
    tile.fill(QColor(90, 90, 90))
    p = QPainter(tile)
    p.fillRect(0, 0, 8, 8, QColor(120, 120, 120))
    p.fillRect(8, 8, 8, 8, QColor(120, 120, 120))
    p.end()
    return QBrush(tile)
