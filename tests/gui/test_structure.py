"""Boundaries that keep the app maintainable: the parts stand alone. (That the engine never
needs Qt is checked in the main suite, tests/test_imports.py, where it runs without PySide6 too.)"""

import subprocess
import sys
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF
from PySide6.QtGui import QImage

from vidcolor_gui.compare_view import CompareView
from vidcolor_gui.images import Pyramid, from_qimage, to_qimage

ROOT = Path(__file__).resolve().parents[2]


def test_images_round_trip_and_pyramid():
    rgb = np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    assert np.array_equal(from_qimage(to_qimage(rgb)), rgb)
    gray16 = (np.arange(40 * 30, dtype=np.uint16).reshape(30, 40) * 50)
    q = to_qimage(gray16)
    assert q.format() == QImage.Format.Format_Grayscale8 and q.pixelColor(39, 29).red() == (gray16[29, 39] >> 8)
    alpha = np.full((30, 40), 128, np.uint8)
    assert to_qimage(gray16, alpha).hasAlphaChannel()
    big = to_qimage(np.zeros((1000, 1600, 3), np.uint8))
    p = Pyramid(big)
    assert [lv.width() for lv in p.levels] == [1600, 800, 400, 200]  # down to a side of 64-127
    level, factor = p.level_for(0.3)
    assert level.width() == 800 and factor == 0.5  # the smallest level still at least 0.3x


def test_compare_view_is_aspect_true_and_dpi_aware(qtbot):
    view = CompareView()
    qtbot.addWidget(view)
    view.resize(600, 300)
    view.show()
    view.set_images(to_qimage(np.zeros((100, 400), np.uint8)), to_qimage(np.full((100, 400, 3), 200, np.uint8)))
    dpr = view.devicePixelRatioF()
    rect = view._image_rect(view._panes()[0])
    assert abs(rect.width() / rect.height() - 4.0) < 1e-6  # never stretched
    view.actual_size()
    rect = view._image_rect(view._panes()[0])
    assert abs(rect.width() * dpr - 400) < 1e-6  # 100% = one image pixel per device pixel
    # The result may come at another resolution (a reduced preview): it fills the same place.
    view.set_images(to_qimage(np.zeros((50, 200), np.uint8)), to_qimage(np.zeros((50, 200, 3), np.uint8)))
    assert abs(view._image_rect(view._panes()[0]).width() * dpr - 400) < 1e-6
    view.set_zoom(2.0, QPointF(100, 100))
    assert view.zoom() == 2.0


HIDPI_SCRIPT = r"""
import numpy as np
from PySide6.QtWidgets import QApplication
from vidcolor_gui.compare_view import CompareView
from vidcolor_gui.images import to_qimage
app = QApplication([])
view = CompareView()
view.resize(500, 300)
view.show()
view.set_images(to_qimage(np.zeros((100, 400), np.uint8)), to_qimage(np.zeros((100, 400, 3), np.uint8)))
view.actual_size()
assert view.devicePixelRatioF() == 2.0, view.devicePixelRatioF()
rect = view._image_rect(view._panes()[0])
assert abs(rect.width() - 200) < 1e-6, rect  # 400 image pixels on 400 device pixels = 200 logical
shot = view.grab()
assert shot.devicePixelRatio() == 2.0 and shot.width() == 1000, (shot.devicePixelRatio(), shot.width())
print("ok")
"""


def test_high_dpi_maps_image_pixels_to_device_pixels():
    import os

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QT_SCALE_FACTOR="2")
    out = subprocess.run([sys.executable, "-c", HIDPI_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr




def test_the_window_opens_without_waiting_for_torch():
    import os

    # torch takes seconds to import: the window comes up at once and the model loads behind it
    # (colour hints included: their module needs torch, so the app imports it only in jobs).
    code = ("import sys\n"
            "import vidcolor_gui.app, vidcolor_gui.main_window\n"
            "bad = sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.'))\n"
            "assert not bad, bad[:10]\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, out.stderr[-2000:]
