"""Colour hints in the app, through the real window on a real photo: placing one by clicking (the
model's suggestions, the full picker), its colour in the shown and saved result, dragging,
recolouring, deleting, undo and redo, the hints file beside the photo, and no hints giving
exactly the automatic result."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
from keys import press
from PIL import Image
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QColor, QMouseEvent
from PySide6.QtWidgets import QApplication
from skimage import color as skcolor
from waits import open_photo, settled

from vidcolor.hints import Hint
from vidcolor.photo import read_photo
from vidcolor.suggest import suggestions
from vidcolor_gui import jobs, workers
from vidcolor_gui.images import from_qimage
from vidcolor_gui.photo_cache import PhotoCache

RED = "#D02020"


def lab(rgb: np.ndarray) -> np.ndarray:
    return skcolor.rgb2lab(rgb.astype(np.float64) / 255, illuminant="D65", observer="2")


@pytest.fixture
def photo(tmp_path):
    """A real black-and-white photo (a shipped sample, reduced), as a gray PNG."""
    from vidcolor.weights import assets_dir

    with Image.open(assets_dir() / "samples" / "nipomo_1936.jpg") as im:
        gray = im.convert("L").resize((128, 160), Image.LANCZOS)
    path = tmp_path / "nipomo.png"
    gray.save(path)
    return path


def sidecar(photo):
    return photo.with_name("nipomo.hints.json")


def widget_pos(window, x, y) -> QPointF:
    return window.view.image_positions(QPointF(x + 0.5, y + 0.5))[-1][0]


def neutral_spots(window, n: int = 1, apart: float = 30) -> list[tuple[int, int]]:
    """Mid-gray pixels of the automatic result, away from the edges and ``apart`` from each other:
    where a strong red is far from the model's colour and exists at the photo's lightness."""
    L, a, b = np.moveaxis(lab(window.doc.result), 2, 0)
    score = np.hypot(a, b) + np.abs(L - 48) / 2
    score[:16], score[-16:], score[:, :16], score[:, -16:] = np.inf, np.inf, np.inf, np.inf
    spots = []
    for i in np.argsort(score, axis=None):
        y, x = np.unravel_index(i, score.shape)
        if all(np.hypot(x - sx, y - sy) >= apart for sx, sy in spots):
            spots.append((int(x), int(y)))
            if len(spots) == n:
                return spots
    raise AssertionError("no such spots")


def open_chooser(qtbot, window, x, y):
    editor = window.hint_editor
    qtbot.mouseClick(window.view, Qt.MouseButton.LeftButton, pos=widget_pos(window, x, y).toPoint())
    qtbot.waitUntil(lambda: editor.chooser is not None and editor.chooser.isVisible(), timeout=5_000)
    return editor.chooser


def place_with_picker(qtbot, window, x, y, colour):
    chooser = open_chooser(qtbot, window, x, y)
    chooser.more_button.click()
    picker = chooser.picker
    assert picker is not None and picker.isVisible() and not chooser.isVisible()
    picker.setCurrentColor(QColor(colour))
    picker.accept()
    qtbot.waitUntil(lambda: settled(window), timeout=20_000)


def ab_at(rgb: np.ndarray, x: int, y: int) -> np.ndarray:
    return lab(rgb[y:y + 1, x:x + 1])[0, 0, 1:]


def mouse(widget, kind, pos, button=Qt.MouseButton.LeftButton, buttons=Qt.MouseButton.LeftButton):
    QApplication.sendEvent(widget, QMouseEvent(kind, pos, widget.mapToGlobal(pos), button, buttons,
                                               Qt.KeyboardModifier.NoModifier))


def drag(widget, start: QPointF, end: QPointF, steps: int = 6):
    mouse(widget, QEvent.Type.MouseButtonPress, start)
    for i in range(1, steps + 1):
        mouse(widget, QEvent.Type.MouseMove, start + (end - start) * (i / steps), Qt.MouseButton.NoButton)
    mouse(widget, QEvent.Type.MouseButtonRelease, end, buttons=Qt.MouseButton.NoButton)


def test_a_hint_placed_by_clicking_puts_its_colour_there_on_screen_and_in_the_saved_photo(
        qtbot, window, photo, tmp_path, dialogs):
    open_photo(qtbot, window, photo)
    (x, y), = neutral_spots(window)
    target = np.array(Hint(x, y, RED).ab())
    auto = window.doc.result
    assert np.hypot(*(ab_at(auto, x, y) - target)) > 40  # red is far from what the model gave there

    place_with_picker(qtbot, window, x, y, RED)
    assert window.hint_editor.hints() == [Hint(x, y, RED)]
    shown = from_qimage(window.view.after_image())
    assert np.hypot(*(ab_at(shown, x, y) - target)) < 4  # the hint's a*b*, to 8-bit rounding
    assert np.abs(lab(shown)[..., 0] - lab(auto)[..., 0]).mean() < 1  # the photo keeps its lightness

    window.save_to(tmp_path / "saved.png")
    qtbot.waitUntil((tmp_path / "saved.png").exists, timeout=10_000)
    saved = read_photo(tmp_path / "saved.png").pixels
    assert np.hypot(*(ab_at(saved, x, y) - target)) < 4
    assert np.array_equal(saved, window.doc.result)
    assert not dialogs.errors


def test_the_chooser_offers_the_models_suggestions_and_a_swatch_places_a_hint(qtbot, window, photo, colorizer):
    open_photo(qtbot, window, photo)
    x, y = 40, 50
    chooser = open_chooser(qtbot, window, x, y)
    qtbot.waitUntil(lambda: len(chooser.suggestions()) == 6, timeout=10_000)
    offered = chooser.suggestions()
    assert offered == suggestions(colorizer, window.doc.photo.pixels, x, y)
    assert window.hint_editor.layer._pending is not None  # where the hint will go is marked meanwhile
    chooser.swatches[2].click()
    assert not chooser.isVisible()
    assert window.hint_editor.hints() == [Hint(x, y, offered[2])]
    qtbot.waitUntil(lambda: settled(window), timeout=20_000)
    # Dismissing the chooser places nothing.
    chooser = open_chooser(qtbot, window, 90, 120)
    chooser.close()
    assert window.hint_editor.chooser is None and len(window.hint_editor.hints()) == 1
    assert window.hint_editor.layer._pending is None


def test_a_marker_is_dragged_recoloured_deleted_and_every_edit_undone_and_redone(qtbot, window, photo):
    open_photo(qtbot, window, photo)
    editor, view = window.hint_editor, window.view
    (x0, y0), (x1, y1), (x2, y2) = neutral_spots(window, 3)
    place_with_picker(qtbot, window, x0, y0, RED)
    place_with_picker(qtbot, window, x2, y2, "#2040C0")
    assert [(h.x, h.y) for h in editor.hints()] == [(x0, y0), (x2, y2)]

    # Drag the first marker to another spot.
    before = from_qimage(view.after_image())
    drag(view, widget_pos(window, x0, y0), widget_pos(window, x1, y1))
    assert editor.hints() == [Hint(x1, y1, RED), Hint(x2, y2, "#2040C0")]
    qtbot.waitUntil(lambda: settled(window), timeout=20_000)
    shown = from_qimage(view.after_image())
    red = Hint(0, 0, RED).ab()
    assert np.hypot(*(ab_at(shown, x1, y1) - red)) < 4  # the colour went with it
    assert np.hypot(*(ab_at(before, x1, y1) - red)) > 10

    # Double-click the marker to recolour it.
    qtbot.mouseDClick(view, Qt.MouseButton.LeftButton, pos=widget_pos(window, x1, y1).toPoint())
    qtbot.waitUntil(lambda: editor.chooser is not None and editor.chooser.isVisible(), timeout=5_000)
    qtbot.waitUntil(lambda: len(editor.chooser.suggestions()) == 6, timeout=10_000)
    new_colour = editor.chooser.suggestions()[0]
    editor.chooser.swatches[0].click()
    assert editor.hints()[0] == Hint(x1, y1, new_colour)

    # Select the second marker with a click and delete it with the Delete key.
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=widget_pos(window, x2, y2).toPoint())
    assert editor.layer.selected() == 1
    press(qtbot, view, Qt.Key.Key_Delete)
    assert editor.hints() == [Hint(x1, y1, new_colour)]
    qtbot.wait(QApplication.doubleClickInterval() + 100)
    assert editor.chooser is None  # clicking a marker selects it; it does not place a hint

    undo = lambda: press(qtbot, view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # noqa: E731
    redo = lambda: press(qtbot, view, Qt.Key.Key_Z,  # noqa: E731
                         Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    undo()
    assert editor.hints() == [Hint(x1, y1, new_colour), Hint(x2, y2, "#2040C0")]
    undo()
    assert editor.hints()[0] == Hint(x1, y1, RED)
    undo()
    assert editor.hints()[0] == Hint(x0, y0, RED)
    redo()
    redo()
    assert editor.hints()[0] == Hint(x1, y1, new_colour)

    window.hint_editor.clear_action.trigger()
    assert editor.hints() == [] and not editor.clear_action.isEnabled()
    undo()
    assert editor.hints() == [Hint(x1, y1, new_colour), Hint(x2, y2, "#2040C0")]
    # Edits in quick succession: the last one is what is shown, whatever ran in between.
    redo()
    undo()
    qtbot.waitUntil(lambda: settled(window), timeout=20_000)
    assert window.doc.result_key[-1] == tuple(editor.hints())
    expected = window.doc.result
    assert np.array_equal(from_qimage(view.after_image()), expected)
    assert np.array_equal(expected, _colorize(window, editor.hints()))


def _colorize(window, hints):
    photo = window.doc.photo
    return window.engine.thread.colorizer.colorize_image(photo.pixels, hints=hints)


def test_hints_are_kept_beside_the_photo_and_come_back_when_it_is_opened_again(qtbot, window, photo, gray_png):
    open_photo(qtbot, window, photo)
    place_with_picker(qtbot, window, 40, 60, RED)
    qtbot.waitUntil(sidecar(photo).exists, timeout=5_000)
    assert json.loads(sidecar(photo).read_text()) == {"version": 1, "points": [{"x": 40, "y": 60, "color": RED}]}
    place_with_picker(qtbot, window, 90, 120, "#2040C0")
    qtbot.waitUntil(lambda: len(json.loads(sidecar(photo).read_text())["points"]) == 2, timeout=5_000)
    hinted = window.doc.result

    open_photo(qtbot, window, gray_png)  # another photo: no hints, no file
    assert window.hint_editor.hints() == [] and not window.hint_editor.undo_stack.canUndo()
    assert not gray_png.with_name("gradient.hints.json").exists()
    open_photo(qtbot, window, photo)
    assert window.hint_editor.hints() == [Hint(40, 60, RED), Hint(90, 120, "#2040C0")]
    assert np.array_equal(window.doc.result, hinted)  # and the photo is colourised with them

    # Deleting every hint removes the file; undoing brings it back.
    window.hint_editor.clear_action.trigger()
    qtbot.waitUntil(lambda: not sidecar(photo).exists(), timeout=5_000)
    window.hint_editor.undo_action.trigger()
    qtbot.waitUntil(sidecar(photo).exists, timeout=5_000)


def test_no_hints_give_exactly_the_automatic_result(qtbot, window, photo, colorizer, tmp_path):
    open_photo(qtbot, window, photo)
    automatic = colorizer.colorize_image(read_photo(photo).pixels)
    assert np.array_equal(window.doc.result, automatic)
    assert np.array_equal(from_qimage(window.view.after_image()), automatic)
    place_with_picker(qtbot, window, 40, 60, RED)
    assert not np.array_equal(window.doc.result, automatic)
    window.hint_editor.undo_action.trigger()
    qtbot.waitUntil(lambda: settled(window), timeout=20_000)
    assert np.array_equal(window.doc.result, automatic)
    window.save_to(tmp_path / "auto.png")
    qtbot.waitUntil((tmp_path / "auto.png").exists, timeout=10_000)
    assert np.array_equal(read_photo(tmp_path / "auto.png").pixels, automatic)
    assert not sidecar(photo).exists()


def test_a_folder_that_cannot_be_written_asks_where_to_keep_the_hints(qtbot, window, photo, tmp_path, dialogs,
                                                                      monkeypatch):
    import vidcolor.hints

    real_save = vidcolor.hints.save_hints

    def read_only_folder(path, hints):  # as a photo on a CD or a shared archive would
        if path.parent == photo.parent:
            raise PermissionError(13, "Permission denied", str(path))
        real_save(path, hints)

    monkeypatch.setattr(vidcolor.hints, "save_hints", read_only_folder)
    elsewhere = tmp_path / "mine" / "nipomo.hints.json"
    elsewhere.parent.mkdir()
    dialogs.save_path = str(elsewhere)
    open_photo(qtbot, window, photo)
    place_with_picker(qtbot, window, 40, 60, RED)
    qtbot.waitUntil(elsewhere.exists, timeout=5_000)
    assert not sidecar(photo).exists() and not dialogs.errors
    assert window.hint_editor.hints_file() == elsewhere

    window.close()  # a new window finds them where they were put
    from vidcolor_gui.main_window import MainWindow

    win = MainWindow(colorizer=window.engine.thread.colorizer, store=window.store)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win._model_ready, timeout=10_000)
    open_photo(qtbot, win, photo)
    assert win.hint_editor.hints() == [Hint(40, 60, RED)]
    win.close()


def test_a_bad_hints_file_is_reported_and_the_photo_opens_without_it(qtbot, window, photo, dialogs):
    sidecar(photo).write_text(json.dumps({"version": 1, "points": [{"x": 500, "y": 2, "color": RED}]}))
    open_photo(qtbot, window, photo)
    assert window.hint_editor.hints() == []
    assert dialogs.errors and dialogs.errors[0][0] == "Cannot use the hints file"
    assert "point 1 (500, 2) is outside the image" in dialogs.errors[0][1]
    assert sidecar(photo).exists()  # left as it was until a hint is placed


def test_a_large_photo_is_previewed_at_screen_size_then_joined_in_full(colorizer, photo):
    # A 12-megapixel scan shows its new colours at the screen's size first: the network runs once
    # and the full-resolution join (for zooming in and for saving) follows.
    partials = []
    job = workers.Job("view", jobs.colorize_photo)
    thread = SimpleNamespace(colorizer=colorizer, model_error=None,
                             jobPartial=SimpleNamespace(emit=lambda _id, value: partials.append(value)))
    ctx = workers.JobContext(thread, job)
    p = read_photo(photo)
    hints = [Hint(40, 60, RED)]
    rgb, pyramid = jobs.colorize_photo(ctx, p, colorizer.settings, hints, PhotoCache(p), preview_side=64)
    assert len(partials) == 1 and (partials[0].width(), partials[0].height()) == (51, 64)
    assert np.array_equal(rgb, colorizer.colorize_image(p.pixels, hints=hints))
    assert (pyramid.width(), pyramid.height()) == (128, 160)
    preview = from_qimage(partials[0].image)
    assert np.hypot(*(ab_at(preview, 16, 24) - ab_at(rgb, 40, 60))) < 12  # the same colours, reduced
