"""The settings a person tunes while looking at the result, and where they are remembered."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from vidcolor.settings import DEFAULT_SIZE, MAX_SIZE, MIN_SIZE, RenderSettings
from vidcolor.video.options import DEFAULT_SMOOTHING, VideoOptions

SIZE_STEP = 32  # keeps the slider usable
DEVICES = (("auto", "Automatic"), ("cpu", "CPU"), ("cuda", "GPU (CUDA)"))
CODECS = (("libx264", "H.264"), ("libx265", "H.265 / HEVC"), ("mpeg4", "MPEG-4 Part 2"), ("ffv1", "FFV1 (lossless)"))
DEBOUNCE_MS = 250  # long enough to skip the intermediate values of a slider drag


@dataclass(frozen=True)
class AppSettings:
    size: int = DEFAULT_SIZE
    intensity: float = 1.0
    strength: float = DEFAULT_SMOOTHING
    device: str = "auto"
    codec: str = "libx264"
    crf: int = 18

    def render_key(self) -> tuple:
        """What a still frame's colours depend on (smoothing and encoding do not change them)."""
        return self.size, round(self.intensity, 3), self.device

    def render_settings(self) -> RenderSettings:
        return RenderSettings(size=self.size, intensity=self.intensity)

    def video_options(self) -> VideoOptions:
        return VideoOptions(strength=self.strength, codec=self.codec, crf=self.crf)

    def lossless(self) -> bool:
        return self.codec == "ffv1"

    def save(self, store: QSettings) -> None:
        for name, value in asdict(self).items():
            store.setValue(f"render/{name}", value)

    @classmethod
    def load(cls, store: QSettings) -> "AppSettings":
        default = cls()
        values = {}
        for name, value in asdict(default).items():
            raw = store.value(f"render/{name}", value)
            try:
                values[name] = type(value)(raw)
            except (TypeError, ValueError):
                values[name] = value
        s = cls(**values)
        # A hand-edited or older settings file must not put the app in an unusable state.
        return replace(s,
                       size=min(MAX_SIZE, max(MIN_SIZE, s.size)),
                       intensity=min(2.0, max(0.0, s.intensity)),
                       strength=min(1.0, max(0.0, s.strength)),
                       device=s.device if s.device in dict(DEVICES) else default.device,
                       codec=s.codec if s.codec in dict(CODECS) else default.codec,
                       crf=min(51, max(0, s.crf)))


def _slider(lo: int, hi: int, step: int, page: int) -> QSlider:
    s = QSlider(Qt.Orientation.Horizontal)
    s.setRange(lo, hi)
    s.setSingleStep(step)
    s.setPageStep(page)
    return s


def _value_label(width_text: str) -> QLabel:
    label = QLabel()
    label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    label.setMinimumWidth(label.fontMetrics().horizontalAdvance(width_text) + 4)
    return label


def _row(*widgets) -> QWidget:
    w = QWidget()
    lay = QHBoxLayout(w)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(8)
    for x in widgets:
        lay.addWidget(x, 1 if isinstance(x, QSlider) else 0)
    return w


class SettingsPanel(QWidget):
    """Emits ``changed`` once a burst of edits has settled."""

    changed = Signal(object)  # AppSettings

    def __init__(self, settings: AppSettings, parent=None):
        super().__init__(parent)
        self._timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._timer.timeout.connect(lambda: self.changed.emit(self.settings()))

        self.size_slider = _slider(MIN_SIZE // SIZE_STEP, MAX_SIZE // SIZE_STEP, 1, 4)
        self.size_label = _value_label("1024 px")
        self.size_slider.setToolTip("Resolution the network sees. Larger keeps the colours of small objects "
                                    "apart; smaller is faster and often more vivid.")
        self.intensity_slider = _slider(0, 200, 5, 25)
        self.intensity_label = _value_label("2.00×")
        self.intensity_slider.setToolTip("Colour saturation: 0 is gray, 1 as predicted, 2 doubled.")
        self.strength_slider = _slider(0, 100, 5, 10)
        self.strength_label = _value_label("1.00")
        self.strength_slider.setToolTip("How strongly colours are held steady from frame to frame "
                                        "(reduces flicker; 0 colours every frame on its own).")
        self.device_combo = QComboBox()
        for key, text in DEVICES:
            self.device_combo.addItem(text, key)
        self.device_combo.setToolTip("Where the network runs. Automatic uses a CUDA GPU when there is one.")
        self.codec_combo = QComboBox()
        for key, text in CODECS:
            self.codec_combo.addItem(text, key)
        self.crf_spin = QSpinBox()
        self.crf_spin.setRange(0, 51)
        self.crf_spin.setToolTip("Constant rate factor: lower is better quality and a larger file "
                                 "(18 looks lossless to most eyes, 23 is typical).")
        self.reset_button = QPushButton("Reset to defaults")
        self.reset_button.setAutoDefault(False)

        colour = QGroupBox("Colour")
        form = QFormLayout(colour)
        form.addRow("Render size", _row(self.size_slider, self.size_label))
        form.addRow("", _hint("faster  ◂  ▸  more detail"))
        form.addRow("Intensity", _row(self.intensity_slider, self.intensity_label))
        form.addRow("Device", self.device_combo)
        video = QGroupBox("Video")
        form = QFormLayout(video)
        form.addRow("Smoothing", _row(self.strength_slider, self.strength_label))
        form.addRow("Codec", self.codec_combo)
        form.addRow("Quality (CRF)", self.crf_spin)
        form.addRow("", _hint("lower CRF: better quality, larger file"))

        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 10, 10, 10)
        lay.setSpacing(12)
        lay.addWidget(colour)
        lay.addWidget(video)
        lay.addStretch(1)
        lay.addWidget(self.reset_button, 0, Qt.AlignmentFlag.AlignRight)

        self.set_settings(settings, emit=False)
        for s in (self.size_slider, self.intensity_slider, self.strength_slider):
            s.valueChanged.connect(self._edited)
        self.device_combo.currentIndexChanged.connect(self._edited)
        self.codec_combo.currentIndexChanged.connect(self._edited)
        self.crf_spin.valueChanged.connect(self._edited)
        self.reset_button.clicked.connect(lambda: self.set_settings(AppSettings(), emit=True))

    def settings(self) -> AppSettings:
        return AppSettings(size=self.size_slider.value() * SIZE_STEP,
                           intensity=self.intensity_slider.value() / 100,
                           strength=self.strength_slider.value() / 100,
                           device=self.device_combo.currentData(),
                           codec=self.codec_combo.currentData(),
                           crf=self.crf_spin.value())

    def set_settings(self, s: AppSettings, emit: bool = True) -> None:
        widgets = (self.size_slider, self.intensity_slider, self.strength_slider, self.device_combo,
                   self.codec_combo, self.crf_spin)
        for w in widgets:
            w.blockSignals(True)
        self.size_slider.setValue(round(s.size / SIZE_STEP))
        self.intensity_slider.setValue(round(s.intensity * 100))
        self.strength_slider.setValue(round(s.strength * 100))
        self.device_combo.setCurrentIndex(max(0, self.device_combo.findData(s.device)))
        self.codec_combo.setCurrentIndex(max(0, self.codec_combo.findData(s.codec)))
        self.crf_spin.setValue(s.crf)
        for w in widgets:
            w.blockSignals(False)
        self._update_labels()
        if emit:
            self._edited()

    def set_gpu_available(self, available: bool, name: str = "") -> None:
        item = self.device_combo.model().item(self.device_combo.findData("cuda"))
        item.setEnabled(available)
        item.setToolTip(name if available else "No CUDA GPU found")
        if not available and self.device_combo.currentData() == "cuda":
            self.device_combo.setCurrentIndex(self.device_combo.findData("auto"))

    def flush(self) -> None:
        """Emit a pending change now (before a render starts, so it uses what is on screen)."""
        if self._timer.isActive():
            self._timer.stop()
            self.changed.emit(self.settings())

    def _edited(self) -> None:
        self._update_labels()
        self._timer.start()

    def _update_labels(self) -> None:
        s = self.settings()
        self.size_label.setText(f"{s.size} px")
        self.intensity_label.setText(f"{s.intensity:.2f}×")
        self.strength_label.setText(f"{s.strength:.2f}")
        self.crf_spin.setEnabled(not s.lossless())


def _hint(text: str) -> QLabel:
    label = QLabel(text)
    label.setEnabled(False)  # the platform's muted text colour
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 0.9)
    label.setFont(font)
    return label
