"""numpy <-> QImage, and the reduced copies the compare view paints from.

QImage (unlike QPixmap) may be built on a worker thread, so the conversions here run where the
pixels were made and only finished images cross to the GUI thread.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype == np.uint8:
        return pixels
    if pixels.dtype == np.uint16:
        return (pixels >> 8).astype(np.uint8)
    return (np.clip(pixels, 0, 1) * 255 + 0.5).astype(np.uint8)


def to_qimage(pixels: np.ndarray, alpha: np.ndarray | None = None) -> QImage:
    """An independent QImage of gray ``(H, W)`` or RGB ``(H, W, 3)`` pixels, optionally with alpha.

    16-bit input is shown at 8 bits: screens show no more, and it quarters the memory."""
    pixels = to_uint8(pixels)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    h, w = pixels.shape[:2]
    if alpha is not None:
        rgb = pixels if pixels.ndim == 3 else np.repeat(pixels[..., None], 3, axis=2)
        data, fmt, channels = np.dstack((rgb, to_uint8(alpha))), QImage.Format.Format_RGBA8888, 4
    elif pixels.ndim == 2:
        data, fmt, channels = pixels, QImage.Format.Format_Grayscale8, 1
    else:
        data, fmt, channels = pixels, QImage.Format.Format_RGB888, 3
    data = np.ascontiguousarray(data)
    # QImage only borrows the buffer; copy() gives it its own so the array may be freed.
    return QImage(data.data, w, h, w * channels, fmt).copy()


def from_qimage(image: QImage) -> np.ndarray:
    """RGB uint8 ``(H, W, 3)`` pixels of any QImage (alpha dropped)."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w, stride = image.height(), image.width(), image.bytesPerLine()
    buf = np.frombuffer(image.constBits(), dtype=np.uint8, count=h * stride).reshape(h, stride)
    return buf[:, : w * 3].reshape(h, w, 3).copy()


class Pyramid:
    """An image and its successive halvings.

    Painting a large photo scaled far down with smooth filtering on every repaint (each step of a
    wheel zoom or split drag) is slow; starting from the nearest level at most 2x larger keeps the
    work proportional to the screen, not the photo, while staying sharp."""

    MIN_SIDE = 64

    def __init__(self, image: QImage):
        self.levels = [image]
        while min(self.levels[-1].width(), self.levels[-1].height()) >= 2 * self.MIN_SIDE:
            prev = self.levels[-1]
            self.levels.append(prev.scaled(prev.width() // 2, prev.height() // 2,
                                           Qt.AspectRatioMode.IgnoreAspectRatio,
                                           Qt.TransformationMode.SmoothTransformation))

    @property
    def image(self) -> QImage:
        return self.levels[0]

    def width(self) -> int:
        return self.levels[0].width()

    def height(self) -> int:
        return self.levels[0].height()

    def level_for(self, scale: float) -> tuple[QImage, float]:
        """The smallest level still at least ``scale`` times the full size, and its factor."""
        factor = 1.0
        chosen = self.levels[0]
        for level in self.levels[1:]:
            f = level.width() / self.levels[0].width()
            if f < scale:
                break
            chosen, factor = level, f
        return chosen, factor
