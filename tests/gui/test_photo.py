"""The photo workflow through the real window: open, colourise, compare, save, copy, errors."""

import numpy as np
import pytest
from keys import press
from PIL import Image
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QGuiApplication, QMouseEvent
from PySide6.QtWidgets import QApplication

from vidcolor_gui.compare_view import SIDE, SINGLE, SPLIT


def open_and_wait(qtbot, window, path):
    window.open_path(path)
    qtbot.waitUntil(lambda: window.doc is not None and window.doc.path == path and window.has_result(),
                    timeout=20_000)


def drag(widget, start: QPointF, end: QPointF, steps: int = 5):
    def send(kind, pos, buttons):
        ev = QMouseEvent(kind, pos, widget.mapToGlobal(pos), Qt.MouseButton.LeftButton, buttons,
                         Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(widget, ev)

    send(QEvent.Type.MouseButtonPress, start, Qt.MouseButton.LeftButton)
    for i in range(1, steps + 1):
        send(QEvent.Type.MouseMove, start + (end - start) * (i / steps), Qt.MouseButton.LeftButton)
    send(QEvent.Type.MouseButtonRelease, end, Qt.MouseButton.NoButton)


def test_photo_is_colourised_compared_and_saved(qtbot, window, gray_png, tmp_path, dialogs):
    open_and_wait(qtbot, window, gray_png)
    view = window.view
    after = view.after_image()
    assert (after.width(), after.height()) == (80, 48)
    assert view.mode() == SPLIT and view.split() == 0.5

    # Drag the split line from the middle to a quarter of the width.
    y = view.height() / 2
    drag(view, QPointF(view.width() * 0.5, y), QPointF(view.width() * 0.25, y))
    assert abs(view.split() - 0.25) < 0.02

    # The result is drawn right of the split line, the original left of it.
    shot = view.grab().toImage()
    dpr = shot.devicePixelRatio()
    left = shot.pixelColor(int(view.width() * 0.25 * dpr) - 8, int(y * dpr))
    assert left.red() == left.green() == left.blue()

    dialogs.save_path = str(tmp_path / "out.png")
    press(qtbot, window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: (tmp_path / "out.png").exists(), timeout=10_000)
    with Image.open(tmp_path / "out.png") as im:
        assert im.size == (80, 48) and im.mode == "RGB"
        rgb = np.asarray(im).astype(int)
    assert np.abs(rgb[..., 0] - rgb[..., 2]).max() > 0  # colour, not gray written as RGB
    assert not dialogs.errors


def test_save_keeps_alpha_and_writes_by_extension(qtbot, window, tmp_path):
    la = np.dstack([np.tile(np.arange(64, dtype=np.uint8) * 4, (40, 1)), np.full((40, 64), 200, np.uint8)])
    src = tmp_path / "alpha.png"
    Image.fromarray(la, "LA").save(src)
    open_and_wait(qtbot, window, src)
    for name, mode in (("a.png", "RGBA"), ("a.jpg", "RGB"), ("a.webp", "RGBA")):
        window.save_to(tmp_path / name)
        qtbot.waitUntil((tmp_path / name).exists, timeout=10_000)
        with Image.open(tmp_path / name) as im:
            assert im.size == (64, 40) and im.mode == mode


def test_zoom_and_pan_stay_in_sync(qtbot, window, gray_png):
    open_and_wait(qtbot, window, gray_png)
    view = window.view
    assert view.is_fit()
    window.side_action.trigger()
    assert view.mode() == SIDE
    view.actual_size()
    assert view.zoom() == 1.0 and not view.is_fit()
    qtbot.wait(10)
    # Wheel zoom about a point keeps that image point under the cursor.
    center_before = view.center()
    view.set_zoom(4.0, QPointF(view.width() * 0.25, view.height() / 2))
    assert view.zoom() == 4.0
    # Dragging in the right pane pans both panes: there is one shared view centre.
    c = view.center()
    drag(view, QPointF(view.width() * 0.75, view.height() / 2), QPointF(view.width() * 0.75 - 40, view.height() / 2))
    moved = view.center()
    assert moved.x() > c.x()
    window.fit_action.trigger()
    assert view.is_fit() and view.center() == center_before
    window.single_action.trigger()
    assert view.mode() == SINGLE


def test_before_toggle_copy_and_settings_rerender(qtbot, window, gray_png):
    open_and_wait(qtbot, window, gray_png)
    press(qtbot, window, Qt.Key.Key_B)
    assert window.view.show_original()
    press(qtbot, window, Qt.Key.Key_Space)
    assert not window.view.show_original()

    window.copy_action.trigger()
    clip = QGuiApplication.clipboard().image()
    assert (clip.width(), clip.height()) == (80, 48)

    # Turning intensity to zero re-renders by itself, and the result is then gray.
    old_key = window.doc.result_key
    window.settings_panel.intensity_slider.setValue(0)
    qtbot.waitUntil(lambda: window.doc.result_key != old_key, timeout=10_000)
    rgb = window.doc.result.astype(int)
    assert np.abs(rgb[..., 0] - rgb[..., 2]).max() <= 2


def test_bad_files_show_an_error_and_the_app_keeps_working(qtbot, window, gray_png, tmp_path, dialogs):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.jpg"
    text.write_text("this is not a photo\n")
    missing = tmp_path / "missing.png"
    for n, bad in enumerate((empty, text, missing), 1):
        window.open_path(bad)
        qtbot.waitUntil(lambda n=n: len(dialogs.errors) == n, timeout=10_000)
        assert bad.name in dialogs.errors[-1][1]
    open_and_wait(qtbot, window, gray_png)
    assert len(dialogs.errors) == 3


def test_recent_files_and_remembered_settings(qtbot, window, gray_png, store):
    open_and_wait(qtbot, window, gray_png)
    assert window.recent_files()[0] == str(gray_png.resolve())
    window.settings_panel.strength_slider.setValue(35)
    window.set_mode(SIDE)
    window.close()
    store.sync()
    assert float(store.value("render/strength")) == 0.35
    assert store.value("view/mode") == SIDE
    assert store.value("window/geometry") is not None


def test_missing_model_is_reported_and_photos_still_open(qtbot, store, dialogs, gray_png, tmp_path):
    from vidcolor_gui.main_window import MainWindow

    win = MainWindow(store=store, model_path=tmp_path / "nope.safetensors")
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: len(dialogs.errors) >= 1, timeout=20_000)
    assert dialogs.errors[0][0] == "Model not available"
    win.open_path(gray_png)
    qtbot.waitUntil(lambda: win.doc is not None and not win.engine.is_busy(), timeout=10_000)
    assert win.view.before_image() is not None and win.view.after_image() is None
    assert len(dialogs.errors) == 1  # told once, not again for every file
    win.close()


@pytest.mark.filterwarnings("ignore:Function.*QDragEnterEvent:DeprecationWarning")  # Qt has no QPointF form
def test_drop_a_file_on_the_window_opens_it(qtbot, window, gray_png):
    from PySide6.QtCore import QMimeData, QPoint, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(gray_png))])
    enter = QDragEnterEvent(QPoint(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, drop)
    qtbot.waitUntil(lambda: window.doc is not None and window.has_result(), timeout=20_000)
    assert window.doc.path == gray_png


def test_a_failed_save_is_reported_and_nothing_is_lost(qtbot, window, gray_png, tmp_path, dialogs):
    open_and_wait(qtbot, window, gray_png)
    window.save_to(tmp_path / "no" / "such" / "folder" / "out.png")
    qtbot.waitUntil(lambda: len(dialogs.errors) == 1, timeout=10_000)
    assert "could not be written" in dialogs.errors[0][1]
    window.save_to(tmp_path / "fine.tif")
    qtbot.waitUntil(lambda: (tmp_path / "fine.tif").exists(), timeout=10_000)


def test_error_messages_name_the_cause():
    import errno

    from vidcolor.photo import PhotoError
    from vidcolor_gui.errors import describe
    from vidcolor_gui.workers import ModelUnavailable

    assert describe(OSError(errno.ENOSPC, "No space left on device"), "save x")[0] == "Disk full"
    wrapped = PhotoError("/a/b.png: could not be written (No space left on device)")
    wrapped.__cause__ = OSError(errno.ENOSPC, "No space left on device")  # as write_photo raises it
    assert describe(wrapped, "save")[0] == "Disk full"
    assert describe(ModelUnavailable("gone"), "colourise")[0] == "Model not available"
    assert describe(PhotoError("x.jpg: file is empty"), "open") == ("Cannot use this image", "x.jpg: file is empty")


def test_gpu_choice_follows_what_the_machine_has(window):
    import torch

    combo = window.settings_panel.device_combo
    item = combo.model().item(combo.findData("cuda"))
    assert item.isEnabled() == torch.cuda.is_available()


def test_entry_point_opens_the_file_given(qtbot, colorizer, gray_png, dialogs, monkeypatch):
    from vidcolor_gui import app as gui_app
    from vidcolor_gui.main_window import MainWindow

    seen = {}

    def run_until_loaded():
        # Stands in for QApplication.exec(): a nested application exec inside pytest would leave
        # Qt's quit flag set and starve the event loops of later tests.
        wins = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        assert len(wins) == 1
        qtbot.waitUntil(lambda: wins[0].doc is not None and wins[0].has_result(), timeout=60_000)
        seen["path"] = wins[0].doc.path
        wins[0].close()
        return 0

    monkeypatch.setattr(QApplication, "exec", staticmethod(run_until_loaded))
    assert gui_app.main([str(gray_png)]) == 0
    assert seen["path"] == gray_png and not dialogs.errors


def test_switching_device_keeps_working(qtbot, window, gray_png):
    open_and_wait(qtbot, window, gray_png)
    combo = window.settings_panel.device_combo
    combo.setCurrentIndex(combo.findData("auto"))
    window.settings_panel.flush()
    qtbot.waitUntil(lambda: not window.engine.is_busy(), timeout=10_000)
    assert window.device_label.text().startswith(("CPU", "NVIDIA"))
    window.settings_panel.intensity_slider.setValue(150)
    key = window.doc.result_key
    qtbot.waitUntil(lambda: window.doc.result_key != key, timeout=10_000)


def test_ctrl_o_opens_through_the_dialog_and_zoom_keys_work(qtbot, window, gray_png, dialogs):
    dialogs.open_path = str(gray_png)
    press(qtbot, window, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.doc is not None and window.has_result(), timeout=20_000)
    press(qtbot, window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.view.zoom() == 1.0
    press(qtbot, window, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert window.view.is_fit()
    press(qtbot, window, Qt.Key.Key_2)
    assert window.view.mode() == SIDE
    assert window.zoom_label.text().startswith("Fit")


def test_a_failed_open_keeps_the_current_photo(qtbot, window, gray_png, tmp_path, dialogs):
    open_and_wait(qtbot, window, gray_png)
    old_key = window.doc.result_key
    window.settings_panel.intensity_slider.setValue(60)
    window.settings_panel.flush()  # a re-render is now queued or running...
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    window.open_path(bad)  # ...and opening another file cancels it
    qtbot.waitUntil(lambda: len(dialogs.errors) == 1, timeout=20_000)
    # The photo on screen stays, and gets the colourisation its settings call for.
    qtbot.waitUntil(lambda: window.doc.result_key != old_key, timeout=20_000)
    assert window.doc.path == gray_png and window.doc.result_key[1] == 0.6


def test_a_newer_request_stops_the_photo_being_colourised(colorizer, gray_png):
    # The engine thread cancels a running "view" job when a newer one comes (settings dragged on a
    # large scan): the photo job hands that cancel to the colouriser, which stops between strips.
    from types import SimpleNamespace

    from vidcolor.errors import Cancelled
    from vidcolor.photo import read_photo
    from vidcolor_gui import jobs, workers

    job = workers.Job("view", jobs.colorize_photo)
    job.cancel.set()
    ctx = workers.JobContext(SimpleNamespace(colorizer=colorizer, model_error=None), job)
    with pytest.raises(Cancelled):
        jobs.colorize_photo(ctx, read_photo(gray_png), colorizer.settings)


def test_closing_while_a_worker_is_stuck_keeps_the_window_open_and_says_so(qtbot, colorizer, store, dialogs):
    import threading

    from vidcolor_gui.main_window import MainWindow

    win = MainWindow(colorizer=colorizer, store=store)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win._model_ready, timeout=10_000)
    started, release = threading.Event(), threading.Event()

    def stuck(ctx):  # ignores its cancel event, as a wedged decoder would
        started.set()
        release.wait(30)

    win.engine.submit("stuck", stuck)
    assert started.wait(10)
    win.shutdown_ms = 200
    assert not win.close()
    assert win.isVisible() and dialogs.errors and dialogs.errors[-1][0] == "Still stopping"
    release.set()
    assert win.close()
