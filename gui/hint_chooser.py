"""The colour chooser that opens where a hint is placed or recoloured: the model's own most likely
colours at that point as swatches (shown at the photo's lightness there, as the result will show
them), and a full colour picker beside them.

The suggestions come from the engine thread and fill the swatches when they arrive; the picker
works at once. A popup: a click elsewhere or Escape dismisses it. It is not deleted on closing,
since the picker it opens reports through it; its owner lets it go.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QColorDialog, QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout

SWATCHES = 6
SWATCH_SIZE = 30


def _swatch_icon(color: str | None) -> QIcon:
    pix = QPixmap(SWATCH_SIZE, SWATCH_SIZE)
    pix.fill(QColor(color) if color else QColor(80, 80, 84))
    return QIcon(pix)


class HintChooser(QFrame):
    chosen = Signal(str)  # "#RRGGBB"
    dismissed = Signal()  # closed without a colour

    def __init__(self, parent, title: str, current: str | None = None):
        super().__init__(parent, Qt.WindowType.Popup)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._current = current
        self._done = False
        self.picker: QColorDialog | None = None

        heading = QLabel(f"<b>{title}</b>")
        self.status = QLabel("The model's suggestions…")
        self.status.setEnabled(False)  # the muted text colour
        self.swatches: list[QToolButton] = []
        row = QHBoxLayout()
        row.setSpacing(4)
        for n in range(SWATCHES):
            b = QToolButton()
            b.setIconSize(QSize(SWATCH_SIZE, SWATCH_SIZE))
            b.setIcon(_swatch_icon(None))
            b.setEnabled(False)
            b.setAutoRaise(True)
            b.setShortcut(str(n + 1))
            b.clicked.connect(lambda _checked=False, b=b: self._choose(b.property("hex")))
            row.addWidget(b)
            self.swatches.append(b)
        self.more_button = QPushButton("Other Colour…")
        self.more_button.setToolTip("Pick any colour; only its hue and saturation are used")
        self.more_button.clicked.connect(self._open_picker)
        bottom = QHBoxLayout()
        if current:
            now = QLabel()
            now.setPixmap(_swatch_icon(current).pixmap(16, 16))
            now.setToolTip(f"Now {current}")
            bottom.addWidget(now)
            bottom.addWidget(QLabel(f"now {current}"))
        bottom.addStretch(1)
        bottom.addWidget(self.more_button)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 10)
        lay.setSpacing(6)
        lay.addWidget(heading)
        lay.addWidget(self.status)
        lay.addLayout(row)
        lay.addLayout(bottom)

    def suggestions(self) -> list[str]:
        return [b.property("hex") for b in self.swatches if b.isEnabled()]

    def set_suggestions(self, colours: list[str]) -> None:
        self.status.setText("Suggested by the model (1–6):" if colours else "No suggestions here")
        for b, colour in zip(self.swatches, colours + [None] * SWATCHES):
            b.setIcon(_swatch_icon(colour))
            b.setProperty("hex", colour)
            b.setToolTip(colour or "")
            b.setEnabled(colour is not None)

    def set_failed(self, text: str) -> None:
        self.status.setText(text)

    def open_at(self, global_pos: QPoint) -> None:
        """Show beside ``global_pos`` (the marker), kept on the screen."""
        self.adjustSize()
        pos = global_pos + QPoint(16, 16)
        screen = self.screen().availableGeometry() if self.screen() else None
        if screen is not None:
            pos.setX(min(pos.x(), screen.right() - self.width()))
            pos.setY(min(pos.y(), screen.bottom() - self.height()))
            pos.setX(max(pos.x(), screen.left()))
            pos.setY(max(pos.y(), screen.top()))
        self.move(pos)
        self.show()

    def _choose(self, colour: str | None) -> None:
        if colour and not self._done:
            self._done = True
            self.chosen.emit(colour.upper())
        self.close()

    def _open_picker(self) -> None:
        # The picker outlives this popup, which closes now: a popup would take its clicks.
        start = self._current or next(iter(self.suggestions()), "#808080")
        self.picker = QColorDialog(QColor(start), self.parentWidget())
        self.picker.setWindowTitle("Hint colour")
        self.picker.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.picker.colorSelected.connect(lambda c: self.chosen.emit(c.name().upper()))
        self.picker.rejected.connect(self.dismissed)
        self._done = True  # from here the picker says what was chosen
        self.close()
        self.picker.open()

    def closeEvent(self, event) -> None:
        if not self._done:
            self._done = True
            self.dismissed.emit()
        super().closeEvent(event)
