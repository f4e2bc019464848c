"""Reference photos in the app, through the real window: a colour photo of what the picture shows
brings its colours where it matches (added from the menu or dropped on the strip), removing it
gives back the automatic result, a gray or missing one is refused naming the file, the list is
kept beside the photo and comes back (a vanished reference reported and skipped), the matched
points become ordinary hints in one undoable step, and on a video a reference is for the shot
shown when it was added."""

import json
import warnings

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication
from skimage import color as skcolor
from waits import open_photo, settled

from vidcolor.photo import read_photo

COOL = (-20.0, -20.0)  # a*b* of the colour photos: far from the warm tones the model gives these pictures


def lab(rgb: np.ndarray) -> np.ndarray:
    return skcolor.rgb2lab(rgb.astype(np.float64) / (65535 if rgb.dtype == np.uint16 else 255))


def coloured(L: np.ndarray, ab=COOL) -> np.ndarray:
    """RGB uint8 of lightness ``L`` with a*b* ``ab`` all over."""
    ab = np.broadcast_to(np.asarray(ab, np.float64), L.shape + (2,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a few out-of-gamut pixels are clipped, as they should be
        rgb = skcolor.lab2rgb(np.dstack([L, ab]))
    return (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)


@pytest.fixture
def target(tmp_path):
    """A real black-and-white photo (a shipped sample, reduced), as a gray PNG."""
    from vidcolor.weights import assets_dir

    with Image.open(assets_dir() / "samples" / "nipomo_1936.jpg") as im:
        im.convert("L").resize((96, 120), Image.LANCZOS).save(tmp_path / "house.png")
    return tmp_path / "house.png"


@pytest.fixture
def reference(target):
    """The same picture in colour, in cool tones."""
    L = lab(np.dstack([np.asarray(Image.open(target))] * 3))[..., 0]
    path = target.with_name("house_colour.png")
    Image.fromarray(coloured(L)).save(path)
    return path


@pytest.fixture
def gray_reference(target):
    """A photo with no colour, saved as RGB: refused for what it shows, not for its format."""
    path = target.with_name("house_gray.png")
    Image.open(target).convert("RGB").save(path)
    return path


def listing(photo):
    return photo.with_name(photo.stem + ".references.json")


def add_reference(qtbot, window, dialogs, path, count=1):
    dialogs.open_path = str(path)
    window.references.add_action.trigger()
    qtbot.waitUntil(lambda: len(window.references.items()) == count and settled(window), timeout=20_000)


def off_cool(rgb: np.ndarray) -> float:
    """How far the picture's mean a*b* (away from its edges) is from the colour photos'."""
    ab = lab(rgb[8:-8, 8:-8])[..., 1:].reshape(-1, 2).mean(0)
    return float(np.hypot(*(ab - np.asarray(COOL))))


def test_a_reference_brings_its_colours_where_it_matches_and_removing_it_restores_the_automatic_result(
        qtbot, window, target, reference, colorizer, dialogs):
    open_photo(qtbot, window, target)
    automatic = window.doc.result
    assert not window.reference_strip.tiles and window.doc.matched == []
    add_reference(qtbot, window, dialogs, reference)
    assert [item.path for item in window.references.items()] == [reference]
    assert len(window.reference_strip.tiles) == 1

    result = window.doc.result
    before, after = off_cool(automatic), off_cool(result)
    assert before > 35 and after < before / 2, (before, after)
    refs = window.references.references()
    assert np.array_equal(result, colorizer.colorize_image(read_photo(target).pixels, references=refs))
    matched = window.doc.matched
    assert matched and all(h.matched for h in matched)
    assert window.hint_editor.layer.matched() == matched  # drawn as faint markers
    assert window.hint_editor.hints() == []  # they are not the user's own
    qtbot.waitUntil(listing(target).exists, timeout=5_000)

    window.reference_strip.tiles[0].remove_button.click()
    qtbot.waitUntil(lambda: settled(window), timeout=20_000)
    assert window.references.items() == [] and not window.reference_strip.tiles
    assert np.array_equal(window.doc.result, automatic)
    assert window.hint_editor.layer.matched() == []
    qtbot.waitUntil(lambda: not listing(target).exists(), timeout=5_000)
    window.hint_editor.undo_action.trigger()  # removing is undone like a hint edit
    qtbot.waitUntil(lambda: settled(window) and len(window.references.items()) == 1, timeout=20_000)
    assert np.array_equal(window.doc.result, result)
    assert not dialogs.errors


@pytest.mark.parametrize("kind", ["gray", "missing", "not a photo"])
def test_a_gray_missing_or_unreadable_reference_is_refused_naming_it_and_nothing_changes(
        qtbot, window, target, reference, gray_reference, dialogs, kind):
    path = {"gray": gray_reference, "missing": target.with_name("gone.jpg"),
            "not a photo": target.with_name("notes.png")}[kind]
    if kind == "not a photo":
        path.write_text("not an image")
    open_photo(qtbot, window, target)
    add_reference(qtbot, window, dialogs, reference)
    key, result = window.doc.result_key, window.doc.result

    dialogs.open_path = str(path)
    window.references.add_action.trigger()
    qtbot.waitUntil(lambda: bool(dialogs.errors), timeout=10_000)
    title, text = dialogs.errors[0]
    assert title == "Cannot use this image" and str(path) in text, dialogs.errors
    if kind == "gray":
        assert "colour" in text
    assert [item.path for item in window.references.items()] == [reference]
    assert len(window.reference_strip.tiles) == 1
    qtbot.waitUntil(lambda: not window.engine.is_busy(), timeout=10_000)
    assert window.doc.result_key == key and window.doc.result is result
    assert json.loads(listing(target).read_text())["references"] == [{"path": reference.name, "t": None}]


def test_references_are_kept_beside_the_photo_and_come_back_when_it_is_opened_again(
        qtbot, window, target, reference, gray_png, dialogs):
    open_photo(qtbot, window, target)
    add_reference(qtbot, window, dialogs, reference)
    qtbot.waitUntil(listing(target).exists, timeout=5_000)
    assert json.loads(listing(target).read_text()) == {"version": 1,
                                                       "references": [{"path": "house_colour.png", "t": None}]}
    referenced = window.doc.result

    open_photo(qtbot, window, gray_png)  # another photo: no references, no file
    assert window.references.items() == [] and not window.reference_strip.tiles
    assert not listing(gray_png).exists()
    open_photo(qtbot, window, target)
    assert [item.path for item in window.references.items()] == [reference]
    assert len(window.reference_strip.tiles) == 1
    assert np.array_equal(window.doc.result, referenced) and window.doc.matched  # and coloured with it
    assert not window.hint_editor.undo_stack.canUndo()  # what was opened is not an edit
    assert not dialogs.errors


def test_a_reference_that_vanished_is_reported_and_the_photo_opens_without_it(
        qtbot, window, target, reference, dialogs, colorizer):
    gone = target.parent / "elsewhere" / "old.jpg"
    listing(target).write_text(json.dumps({"version": 1, "references": [
        {"path": str(gone), "t": None}, {"path": reference.name, "t": None}]}))
    open_photo(qtbot, window, target)
    assert len(dialogs.errors) == 1 and str(gone) in dialogs.errors[0][1], dialogs.errors
    assert [item.path for item in window.references.items()] == [reference]  # the other one still counts
    refs = window.references.references()
    assert np.array_equal(window.doc.result, colorizer.colorize_image(read_photo(target).pixels, references=refs))


def test_a_malformed_references_file_is_reported_and_the_photo_opens(qtbot, window, target, dialogs):
    listing(target).write_text("{not json")
    open_photo(qtbot, window, target)
    assert len(dialogs.errors) == 1 and str(listing(target)) in dialogs.errors[0][1], dialogs.errors
    assert dialogs.errors[0][0] == "Cannot use the reference photos file"
    assert window.references.items() == [] and window.has_result()


def drop_on(widget, files):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(f)) for f in files])
    enter = QDragEnterEvent(QPoint(20, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    if enter.isAccepted():
        QApplication.sendEvent(widget, QDropEvent(QPointF(20, 10), Qt.DropAction.CopyAction, mime,
                                                  Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    return enter.isAccepted()


@pytest.mark.filterwarnings("ignore:Function.*QDragEnterEvent:DeprecationWarning")  # Qt has no QPointF form
def test_a_colour_photo_dropped_on_the_strip_becomes_a_reference(qtbot, window, target, reference, dialogs):
    open_photo(qtbot, window, target)
    automatic = window.doc.result
    strip = window.reference_strip
    assert strip.isVisible()  # a drop target whenever a file is open
    assert drop_on(strip, [reference])
    qtbot.waitUntil(lambda: len(window.references.items()) == 1 and settled(window), timeout=20_000)
    assert window.doc.path == target  # added, not opened
    assert off_cool(window.doc.result) < off_cool(automatic) / 2
    assert not dialogs.errors


def test_matched_points_become_hints_in_one_undoable_step(qtbot, window, target, reference, dialogs):
    open_photo(qtbot, window, target)
    add_reference(qtbot, window, dialogs, reference)
    matched = window.doc.matched
    assert window.references.turn_action.isEnabled()
    referenced = off_cool(window.doc.result)

    window.references.turn_action.trigger()
    qtbot.waitUntil(lambda: settled(window), timeout=20_000)
    hints = window.hint_editor.hints()
    assert [(h.x, h.y, h.color) for h in hints] == [(h.x, h.y, h.color) for h in matched]
    assert not any(h.matched for h in hints)  # ordinary hints now, saved and editable
    assert window.references.items() == [] and window.doc.matched == []
    qtbot.waitUntil(lambda: not listing(target).exists() and target.with_name("house.hints.json").exists(),
                    timeout=5_000)
    assert off_cool(window.doc.result) < referenced + 5  # the colours stay

    window.hint_editor.undo_action.trigger()  # one step back: the reference, and no hints
    qtbot.waitUntil(lambda: settled(window), timeout=20_000)
    assert window.hint_editor.hints() == [] and [i.path for i in window.references.items()] == [reference]
    assert window.doc.matched == matched


def test_a_reference_added_on_a_video_is_for_the_shot_shown(qtbot, window, small_video, dialogs):
    from vidcolor.video.reader import FrameReader

    window.open_path(small_video)
    panel = window.video_panel
    qtbot.waitUntil(lambda: panel.video is not None and panel.shown_frame() == 0 and not window.engine.is_busy(),
                    timeout=20_000)
    panel.seek(12)
    qtbot.waitUntil(lambda: panel.shown_frame() == 12 and not window.engine.is_busy(), timeout=20_000)
    automatic = window.view.after_image()
    t = window.hint_editor.frame_time()
    reader = FrameReader(small_video)
    try:
        _, frame = reader.read_at(t)
    finally:
        reader.close()
    path = small_video.with_name("clip_colour.png")
    Image.fromarray(coloured(lab(frame)[..., 0])).save(path)

    dialogs.open_path = str(path)
    window.references.add_action.trigger()
    qtbot.waitUntil(lambda: len(window.references.items()) == 1 and not window.engine.is_busy()
                    and panel.shown_frame() == 12, timeout=20_000)
    assert window.references.items()[0].t == t
    from vidcolor_gui.images import from_qimage

    assert off_cool(from_qimage(window.view.after_image())) < off_cool(from_qimage(automatic)) - 8
    qtbot.waitUntil(listing(small_video).exists, timeout=5_000)
    assert json.loads(listing(small_video).read_text())["references"] == [{"path": path.name, "t": t}]

    window.references.use_on_every_shot(0)
    assert window.references.items()[0].t is None
    qtbot.waitUntil(lambda: json.loads(listing(small_video).read_text())["references"][0]["t"] is None,
                    timeout=5_000)
    qtbot.waitUntil(lambda: not window.engine.is_busy(), timeout=20_000)
    assert not dialogs.errors
