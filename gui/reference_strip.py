"""The strip under the picture that shows the open file's reference photos as thumbnails, each
with a remove button and a context menu, and takes colour photos dropped on it.

It only shows and asks: adding, removing and rescoping go out as signals for the editor to make
undoable.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from vidcolor.media import PHOTO_SUFFIXES

from .reference_sidecar import LoadedReference
from .video_panel import format_time

THUMB_SIDE = 48  # logical pixels: the height of a thumbnail


def dropped_photos(mime) -> list[str]:
    """The local photo files in a drag's ``mime`` data."""
    return [u.toLocalFile() for u in mime.urls()
            if u.isLocalFile() and Path(u.toLocalFile()).suffix.lower() in PHOTO_SUFFIXES]


class _Tile(QFrame):
    removeClicked = Signal()
    menuRequested = Signal(object)  # global position

    def __init__(self, item: LoadedReference, video: bool, parent=None):
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.setSpacing(0)
        self.image = QLabel()
        dpr = self.devicePixelRatioF()
        pixmap = QPixmap.fromImage(item.thumb).scaledToHeight(round(THUMB_SIDE * dpr),
                                                              Qt.TransformationMode.SmoothTransformation)
        pixmap.setDevicePixelRatio(dpr)
        self.image.setPixmap(pixmap)
        lay.addWidget(self.image)
        self.remove_button = QToolButton()
        self.remove_button.setText("×")
        self.remove_button.setAutoRaise(True)
        self.remove_button.setToolTip(f"Remove {item.path.name} from the reference photos")
        self.remove_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space must reach the before/after toggle
        self.remove_button.clicked.connect(self.removeClicked)
        lay.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignTop)
        scope = ""
        if video:
            scope = "\nFor every shot" if item.t is None else f"\nFor the shot at {format_time(item.t)}"
        self.setToolTip(f"{item.path}{scope}")

    def contextMenuEvent(self, event) -> None:
        self.menuRequested.emit(event.globalPos())


class ReferenceStrip(QFrame):
    addRequested = Signal()
    filesDropped = Signal(list)  # paths of colour photos dropped on it
    removeRequested = Signal(int)
    everyShotRequested = Signal(int)  # a video's reference, for its shot until now

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("ReferenceStrip")
        self.setAcceptDrops(True)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)
        lay.setSpacing(8)
        title = QLabel("Reference photos")
        title.setToolTip("Colour photos of what the picture shows: their colours are used where their "
                         "content matches, and your own hints win where they meet")
        lay.addWidget(title)
        self.empty_label = QLabel("Drop colour photos of what it shows here")
        self.empty_label.setEnabled(False)  # dimmed: a hint, not content
        lay.addWidget(self.empty_label)
        self._row = QWidget()
        self._row_layout = QHBoxLayout(self._row)
        self._row_layout.setContentsMargins(0, 0, 0, 0)
        self._row_layout.setSpacing(6)
        self._row_layout.addStretch(1)
        self._scroll = QScrollArea()
        self._scroll.setWidget(self._row)
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._scroll.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        lay.addWidget(self._scroll, 1)
        self.add_button = QToolButton()
        self.add_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        lay.addWidget(self.add_button)
        self.add_button.clicked.connect(self.addRequested)
        self.tiles: list[_Tile] = []
        self._video = False
        self._show_items([])

    def set_add_action(self, action) -> None:
        self.add_button.setDefaultAction(action)

    def set_references(self, items: list[LoadedReference], video: bool) -> None:
        self._video = video
        self._show_items(items)

    def _show_items(self, items: list[LoadedReference]) -> None:
        for tile in self.tiles:
            self._row_layout.removeWidget(tile)
            tile.deleteLater()
        self.tiles = []
        for i, item in enumerate(items):
            tile = _Tile(item, self._video, self._row)
            tile.removeClicked.connect(lambda i=i: self.removeRequested.emit(i))
            tile.menuRequested.connect(lambda pos, i=i, t=item.t: self._menu(i, t, pos))
            self._row_layout.insertWidget(i, tile)
            self.tiles.append(tile)
        self.empty_label.setVisible(not items)
        self._scroll.setVisible(bool(items))
        height = THUMB_SIDE + 8 + self._scroll.horizontalScrollBar().sizeHint().height()
        self._scroll.setFixedHeight(height if items else 0)

    def _menu(self, index: int, t: float | None, pos) -> None:
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.addAction("Remove Reference Photo", lambda: self.removeRequested.emit(index))
        if self._video and t is not None:
            menu.addAction("Use on Every Shot", lambda: self.everyShotRequested.emit(index))
        menu.popup(pos)  # not exec(): nothing waits on the menu

    # -- drops -------------------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if self.isEnabled() and dropped_photos(event.mimeData()):
            event.acceptProposedAction()
            self.setFrameShadow(QFrame.Shadow.Sunken)  # where the photo will go

    def dragLeaveEvent(self, event) -> None:
        self.setFrameShadow(QFrame.Shadow.Plain)

    def dropEvent(self, event) -> None:
        self.setFrameShadow(QFrame.Shadow.Plain)
        files = dropped_photos(event.mimeData())
        if files:
            event.acceptProposedAction()
            self.filesDropped.emit(files)
