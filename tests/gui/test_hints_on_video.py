"""Colour hints on a video through the real window (issue 11): a hint placed by clicking the frame
under the playhead, at that frame's own time; its marker only on that frame; the mark on the
timeline; its colour followed through the shot in the preview and the render; the hints file
beside the video, read again when it is opened again."""

import json
import threading

import av
import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor
from skimage import color as skcolor
from video_fixtures import write_clip

from vidcolor.hints import Hint
from vidcolor.suggest import suggestions
from vidcolor.video.reader import read_frame
from vidcolor_gui import jobs
from vidcolor_gui.images import from_qimage

W, H, FPS = 160, 120, 10
SHOT = 30  # frames: a 3-second pan
STEP = 2  # pixels the view moves right per frame: the picture moves left
RED = "#B03A2E"  # the example, in gamut at the hinted pixel's lightness
X, Y, PLACED = 120, 60, 10  # the hint: its pixel on frame PLACED (at 1.0 s)
LATER = 20  # a second later it is STEP * 10 pixels to the left


@pytest.fixture
def pan(tmp_path):
    """A pan over a shipped photo (as tests/test_video_hints.py's, without the cut)."""
    from vidcolor.weights import assets_dir

    big = cv2.imread(str(assets_dir() / "samples" / "nipomo_1936.jpg"), cv2.IMREAD_GRAYSCALE)
    big = cv2.resize(big, (W + STEP * SHOT + 8, H + 8), interpolation=cv2.INTER_AREA)
    frames = [big[4:4 + H, STEP * i:STEP * i + W] for i in range(SHOT)]
    return write_clip(tmp_path / "pan.mp4", frames=SHOT, size=(W, H), rate=FPS, pictures=frames, bframes=False)


def sidecar(video):
    return video.with_name(video.stem + ".hints.json")


def lab(rgb: np.ndarray) -> np.ndarray:
    return skcolor.rgb2lab(rgb.astype(np.float64) / 255, illuminant="D65", observer="2")


def ab_near(rgb: np.ndarray, x: float, y: float) -> np.ndarray:
    """Mean a*b* over 3x3 pixels around (x, y)."""
    xi, yi = int(round(x)), int(round(y))
    return lab(rgb[yi - 1:yi + 2, xi - 1:xi + 2]).reshape(-1, 3)[:, 1:].mean(axis=0)


def frame_of(path, index: int) -> np.ndarray:
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i == index:
                return f.to_ndarray(format="rgb24")
    raise AssertionError(f"{path} has no frame {index}")


def shown(window, frame: int) -> bool:
    panel = window.video_panel
    return (panel.shown_frame() == frame and window.has_result() and not window.engine.is_busy()
            and window.hint_editor.frame_time() is not None)


def open_video(qtbot, window, path, frame: int = 0):
    window.open_path(path)
    panel = window.video_panel
    qtbot.waitUntil(lambda: panel.video is not None and panel.video.path == path and shown(window, 0),
                    timeout=20_000)
    if frame:
        panel.seek(frame)
        qtbot.waitUntil(lambda: shown(window, frame), timeout=20_000)
    return panel


def widget_pos(window, x, y) -> QPointF:
    return window.view.image_positions(QPointF(x + 0.5, y + 0.5))[-1][0]


def place(qtbot, window, x, y, colour):
    """Click the frame at (x, y) and choose ``colour`` in the full picker."""
    editor = window.hint_editor
    qtbot.mouseClick(window.view, Qt.MouseButton.LeftButton, pos=widget_pos(window, x, y).toPoint())
    qtbot.waitUntil(lambda: editor.chooser is not None and editor.chooser.isVisible(), timeout=5_000)
    chooser = editor.chooser
    qtbot.waitUntil(lambda: len(chooser.suggestions()) == 6, timeout=20_000)
    offered = chooser.suggestions()
    chooser.more_button.click()
    chooser.picker.setCurrentColor(QColor(colour))
    chooser.picker.accept()
    qtbot.waitUntil(lambda: shown(window, window.video_panel.position()) and len(editor.hints()) > 0,
                    timeout=20_000)
    return offered


def tick_colours(timeline, frame: int) -> np.ndarray:
    """The timeline's pixels in a narrow strip at ``frame``'s tick, along its bottom edge."""
    pixmap = timeline.grab()
    picture = pixmap.toImage()
    image = from_qimage(picture)
    ratio = image.shape[1] / timeline.width()
    x = int(round(timeline.mark_x(frame) * ratio))
    return image[-int(6 * ratio):, max(0, x - 1):x + 2].reshape(-1, 3)


def has_colour(pixels: np.ndarray, colour: str, tolerance: int = 40) -> bool:
    c = QColor(colour)
    target = np.array([c.red(), c.green(), c.blue()])
    return bool((np.abs(pixels.astype(int) - target).sum(axis=1) < tolerance).any())


def test_a_hint_on_a_frame_is_placed_marked_kept_and_followed_through_the_shot(qtbot, window, pan, tmp_path):
    panel = open_video(qtbot, window, pan, PLACED)
    editor = window.hint_editor
    own = editor.frame_time()
    assert abs(own - PLACED / FPS) < 0.5 / FPS
    assert panel.timeline.marks() == [] and not has_colour(tick_colours(panel.timeline, PLACED), RED)
    plain_frame = from_qimage(window.view.after_image())

    offered = place(qtbot, window, X, Y, RED)
    # The chooser offered the model's colours at that pixel of that frame.
    assert offered == suggestions(window.engine.thread.colorizer, read_frame(pan, own), X, Y)
    assert editor.hints() == [Hint(X, Y, RED, own)]
    assert editor.clear_action.isEnabled() and editor.undo_stack.canUndo()
    # The frame on screen is coloured with it at once.
    hinted_frame = from_qimage(window.view.after_image())
    target = np.array(Hint(X, Y, RED).ab())
    assert np.linalg.norm(ab_near(hinted_frame, X, Y) - target) <= 10
    assert np.linalg.norm(ab_near(plain_frame, X, Y) - target) > 30

    # Its marker is on its own frame only.
    layer = editor.layer
    assert layer.marker_at(widget_pos(window, X, Y)) == 0
    panel.seek(LATER)
    qtbot.waitUntil(lambda: shown(window, LATER), timeout=20_000)
    assert layer.marker_at(widget_pos(window, X, Y)) is None
    assert layer.marker_at(widget_pos(window, X - STEP * (LATER - PLACED), Y)) is None

    # The timeline marks its frame, in its colour.
    assert panel.timeline.marks() == [PLACED]
    assert has_colour(tick_colours(panel.timeline, PLACED), RED)
    assert not has_colour(tick_colours(panel.timeline, LATER), RED)

    # The hints file beside the video has it, with its time.
    qtbot.waitUntil(sidecar(pan).exists, timeout=5_000)
    assert json.loads(sidecar(pan).read_text()) == {"version": 1, "points": [{"x": X, "y": Y, "color": RED, "t": own}]}

    # The render follows it through the shot: a second later it is STEP * 10 pixels to the left.
    dst = tmp_path / "hinted.mp4"
    window.render_video(dst)
    qtbot.waitUntil(lambda: window.render_bar.last_report is not None, timeout=120_000)
    later = (X - STEP * (LATER - PLACED), Y)
    got = ab_near(frame_of(dst, LATER), *later)
    assert np.linalg.norm(got - target) <= 10, (got, target)

    # Cleared, the same render does not have it there.
    editor.clear_action.trigger()
    qtbot.waitUntil(lambda: not sidecar(pan).exists(), timeout=5_000)
    assert panel.timeline.marks() == []
    plain = tmp_path / "plain.mp4"
    window.render_bar.last_report = None
    window.render_video(plain)
    qtbot.waitUntil(lambda: window.render_bar.last_report is not None, timeout=120_000)
    assert np.linalg.norm(ab_near(frame_of(plain, LATER), *later) - target) > 30

    # Undone, the hint, its file and its mark come back.
    editor.undo_action.trigger()
    qtbot.waitUntil(sidecar(pan).exists, timeout=5_000)
    assert editor.hints() == [Hint(X, Y, RED, own)] and panel.timeline.marks() == [PLACED]


def test_the_preview_shows_a_hint_followed_through_the_shot(qtbot, window, pan, monkeypatch):
    panel = open_video(qtbot, window, pan, PLACED)
    place(qtbot, window, X, Y, RED)
    frames, following = {}, []
    show = panel._preview_frame

    def record(video, f):
        if isinstance(f, jobs.FollowingHints):
            show(video, f)
            following.append((f.share, panel._view._pending_text))
            return
        frames.setdefault(round(f.seconds * FPS), from_qimage(f.after))
        show(video, f)

    monkeypatch.setattr(panel, "_preview_frame", record)
    panel.start_preview()
    qtbot.waitUntil(lambda: not panel.is_previewing(), timeout=60_000)
    # Before the first frame, the hints were followed through the video, and the view said so.
    assert following and following[-1][0] == 1.0 and "Following the hints" in following[-1][1]
    target = np.array(Hint(X, Y, RED).ab())
    assert LATER in frames
    got = ab_near(frames[LATER], X - STEP * (LATER - PLACED), Y)
    assert np.linalg.norm(got - target) <= 10, (got, target)
    qtbot.waitUntil(lambda: shown(window, panel.position()), timeout=20_000)  # the preview ended cleanly


def test_video_hints_come_back_when_the_video_is_opened_again(qtbot, window, pan, small_video):
    panel = open_video(qtbot, window, pan, PLACED)
    place(qtbot, window, X, Y, RED)
    own = window.hint_editor.frame_time()
    qtbot.waitUntil(sidecar(pan).exists, timeout=5_000)

    open_video(qtbot, window, small_video)  # another video: none of them
    assert window.hint_editor.hints() == [] and panel.timeline.marks() == []
    assert not sidecar(small_video).exists()

    open_video(qtbot, window, pan)
    editor = window.hint_editor
    assert editor.hints() == [Hint(X, Y, RED, own)] and not editor.undo_stack.canUndo()
    assert panel.timeline.marks() == [PLACED]
    assert editor.layer.marker_at(widget_pos(window, X, Y)) is None  # frame 0: not its frame
    panel.seek(PLACED)
    qtbot.waitUntil(lambda: shown(window, PLACED), timeout=20_000)
    assert editor.layer.marker_at(widget_pos(window, X, Y)) == 0


def test_preview_frames_take_hints_at_the_videos_pixels_onto_its_shrunk_frames(colorizer, pan):
    from vidcolor.video.pipeline import preview_frames

    hint = Hint(X, Y, RED, t=PLACED / FPS)
    target = np.array(hint.ab())
    half = W // 2  # frames shrunk to half: the hint must land at half its pixel

    def at_later(hints):
        frames = preview_frames(colorizer, pan, 0.0, 3.0, max_side=half, hints=hints)
        try:
            for at, _original, rgb in frames:
                if round(at * FPS) == LATER:
                    assert rgb.shape[:2] == (H // 2, W // 2)
                    return ab_near(rgb, (X - STEP * (LATER - PLACED)) / 2, Y / 2)
        finally:
            frames.close()
        raise AssertionError("no such frame")

    assert np.linalg.norm(at_later([hint]) - target) <= 12
    assert np.linalg.norm(at_later(None) - target) > 30


def test_following_the_hints_before_a_preview_can_be_cancelled(colorizer, pan):
    from vidcolor.errors import Cancelled
    from vidcolor.video.pipeline import preview_frames

    cancel, seen = threading.Event(), []

    def progress(done, total):
        seen.append((done, total))
        if done == 5:
            cancel.set()

    frames = preview_frames(colorizer, pan, 2.0, 1.0, max_side=W, hints=[Hint(X, Y, RED, t=PLACED / FPS)],
                            cancel=cancel, progress=progress)
    with pytest.raises(Cancelled):
        next(frames)
    assert seen[-1][1] == SHOT and seen[-1][0] < SHOT  # stopped early, counted against the whole video


@pytest.mark.parametrize("point, problem", [({"t": 99.0}, "after the end"), ({}, 'no time "t"')])
def test_a_video_opens_without_the_hints_saved_for_it_that_do_not_fit_it_and_says_why(pan, point, problem):
    from types import SimpleNamespace

    from vidcolor.errors import HintsError
    from vidcolor.hints import FORMAT_VERSION
    from vidcolor_gui import workers

    sidecar(pan).write_text(json.dumps({"version": FORMAT_VERSION, "points": [{"x": X, "y": Y, "color": RED, **point}]}))
    ctx = workers.JobContext(SimpleNamespace(frame_reader=None), workers.Job("open", jobs.open_media))
    opened = jobs.open_media(ctx, pan, sidecar(pan))
    assert opened.info.width == W and opened.hints == []
    assert isinstance(opened.hints_error, HintsError) and problem in str(opened.hints_error)
    assert str(sidecar(pan)) in str(opened.hints_error)
