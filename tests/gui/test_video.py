"""The video workflow through the real window: scrub, preview, render, cancel, close mid-render."""

import av
import numpy as np
import pytest
from keys import press
from PySide6.QtCore import Qt

from vidcolor.video.reader import read_frame
from vidcolor_gui import workers
from vidcolor_gui.images import from_qimage


def frame_count(path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def open_video(qtbot, window, path):
    window.open_path(path)
    panel = window.video_panel
    qtbot.waitUntil(lambda: panel.video is not None and panel.video.path == path
                    and panel.shown_frame() == 0 and window.has_result(), timeout=20_000)
    return panel


def leftovers(folder, name):
    stem = name.rsplit(".", 1)[0]
    return [p.name for p in folder.iterdir() if p.name == name or p.name.startswith(f".{stem}")]


def test_scrub_shows_the_frame_under_the_playhead(qtbot, window, small_video):
    panel = open_video(qtbot, window, small_video)
    assert panel.frame_count() == 24
    assert window.render_action.isEnabled()
    # Rapid scrubbing: only the last position needs to end up on screen.
    for f in (3, 7, 11, 15, 12):
        panel.seek(f)
    qtbot.waitUntil(lambda: panel.shown_frame() == 12, timeout=10_000)
    after = window.view.after_image()
    assert (after.width(), after.height()) == (96, 64)
    assert panel.time_label.text().startswith("0:00.50")


def test_stepping_frame_by_frame_shows_each_frame_from_one_open_file(qtbot, window, small_video):
    panel = open_video(qtbot, window, small_video)
    for f in range(1, 6):
        press(qtbot, panel.timeline, Qt.Key.Key_Right)
        qtbot.waitUntil(lambda f=f: panel.shown_frame() == f, timeout=10_000)
        shown = from_qimage(window.view.before_image())
        assert np.abs(shown.astype(int) - read_frame(small_video, (f + 0.5) / 24).astype(int)).mean() < 1, f
    assert window.engine.thread.frame_reader.path == small_video  # kept open between steps


def test_preview_plays_a_range_colourised(qtbot, window, small_video):
    panel = open_video(qtbot, window, small_video)
    panel.seek(4)
    qtbot.waitUntil(lambda: panel.shown_frame() == 4, timeout=10_000)
    panel.start_preview()
    assert panel.is_previewing()
    qtbot.waitUntil(lambda: not panel.is_previewing(), timeout=20_000)
    # The clip is shorter than the preview range, so all of it plays (from its start).
    assert panel.preview_shown == 24
    assert panel.position() == 23
    qtbot.waitUntil(lambda: panel.shown_frame() == 23, timeout=10_000)


def test_render_writes_every_frame(qtbot, window, small_video, tmp_path, dialogs):
    panel = open_video(qtbot, window, small_video)
    dst = tmp_path / "out.mp4"
    dialogs.save_path = str(dst)
    press(qtbot, window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    bar = window.render_bar
    qtbot.waitUntil(lambda: bar.last_report is not None, timeout=60_000)
    assert not bar.is_running() and not dialogs.errors
    assert dst.exists() and frame_count(dst) == 24
    with av.open(str(dst)) as c:
        assert c.streams.audio  # the sound is carried over
    assert bar.open_button.isVisible() and bar.load_button.isVisible()
    bar.load_button.click()
    qtbot.waitUntil(lambda: panel.video.path == dst and panel.shown_frame() == 0, timeout=20_000)


def test_int8_is_calibrated_once_for_every_render(qtbot, window, small_video, tmp_path, monkeypatch):
    import torch

    from vidcolor import quantize

    if "x86" not in torch.backends.quantized.supported_engines:
        pytest.skip("no x86 quantised kernels")
    calibrations = []
    calibrate = quantize._quantise
    monkeypatch.setattr(quantize, "_quantise", lambda c: (calibrations.append(c), calibrate(c))[1])
    open_video(qtbot, window, small_video)
    bar = window.render_bar
    for name in ("first.mp4", "second.mp4"):
        window.render_video(tmp_path / name)
        qtbot.waitUntil(lambda name=name: bar.last_report is not None and bar.last_report.output.name == name,
                        timeout=60_000)
    # Each render colourises a copy of the model; the loaded model's calibration serves them all
    # (none here, when an earlier test already calibrated it).
    assert len(calibrations) <= 1


@pytest.fixture
def long_video(tmp_path, video_factory):
    return video_factory(tmp_path / "long.mp4", frames=600, audio=False)


def test_cancel_stops_quickly_and_leaves_no_file(qtbot, window, long_video, tmp_path):
    open_video(qtbot, window, long_video)
    dst = tmp_path / "cancelled.mp4"
    window.render_video(dst)
    bar = window.render_bar
    qtbot.waitUntil(lambda: bar.is_running() and bar.progress.maximum() > 0, timeout=20_000)
    assert bar.progress.value() < 600
    bar.cancel_button.click()
    qtbot.waitUntil(lambda: not bar.is_running(), timeout=2_000)
    assert "cancelled" in bar.title.text()
    assert not workers.running_threads() or workers.running_threads() == [window.engine.thread]
    assert leftovers(tmp_path, dst.name) == []
    assert window.render_action.isEnabled()


def test_closing_during_render_asks_then_cancels(qtbot, colorizer, store, dialogs, long_video, tmp_path):
    from vidcolor_gui.main_window import MainWindow

    win = MainWindow(colorizer=colorizer, store=store)
    qtbot.addWidget(win)
    win.show()
    open_video(qtbot, win, long_video)
    dst = tmp_path / "closing.mp4"
    win.render_video(dst)
    qtbot.waitUntil(win.render_bar.is_running, timeout=20_000)

    from PySide6.QtWidgets import QMessageBox

    dialogs.answer = QMessageBox.StandardButton.No
    assert not win.close()
    assert win.render_bar.is_running() and len(dialogs.questions) == 1
    dialogs.answer = QMessageBox.StandardButton.Yes
    assert win.close()
    assert len(dialogs.questions) == 2
    assert workers.running_threads() == []
    assert leftovers(tmp_path, dst.name) == []


def test_video_errors_are_reported(qtbot, window, small_video, tmp_path, dialogs):
    audio_only = tmp_path / "sound.mp4"
    with av.open(str(audio_only), "w") as out:
        out.add_stream("aac", rate=48000)
    bogus = tmp_path / "bogus.mov"
    bogus.write_bytes(b"\0" * 1000)
    for n, bad in enumerate((audio_only, bogus), 1):
        window.open_path(bad)
        qtbot.waitUntil(lambda n=n: len(dialogs.errors) == n, timeout=10_000)
        assert bad.name in dialogs.errors[-1][1]
    panel = open_video(qtbot, window, small_video)
    # Rendering onto the input itself is refused with a message, and nothing is lost.
    window.render_video(small_video)
    qtbot.waitUntil(lambda: len(dialogs.errors) == 3, timeout=20_000)
    assert "overwrite the input" in dialogs.errors[-1][1]
    assert frame_count(small_video) == 24 and panel.video is not None


def test_save_frame_and_settings_rerender(qtbot, window, small_video, tmp_path):
    from PIL import Image

    panel = open_video(qtbot, window, small_video)
    window.save_to(tmp_path / "frame.png")
    qtbot.waitUntil(lambda: (tmp_path / "frame.png").exists(), timeout=10_000)
    with Image.open(tmp_path / "frame.png") as im:
        assert im.size == (96, 64) and im.mode == "RGB"
    first = window.view.after_image()
    window.settings_panel.intensity_slider.setValue(200)
    qtbot.waitUntil(lambda: window.view.after_image() is not first and not window.engine.is_busy(), timeout=10_000)
    assert panel.shown_frame() == 0


def test_saving_a_frame_saves_the_frame_on_screen(qtbot, window, tmp_path):
    # 25 fps in MP4's 1/12800 time base: frame / fps rounded down against it lands one tick
    # before frames 29, 47 and 57, which then saved the frame before.
    from fractions import Fraction

    import torch
    from PIL import Image
    from video_fixtures import write_clip

    from vidcolor.color import rgb_to_l

    def lightness(rgb):
        return rgb_to_l(torch.from_numpy(np.array(rgb)).permute(2, 0, 1).float()[None] / 255)[0, 0].numpy()

    src = write_clip(tmp_path / "ramp.mp4", 60, size=(64, 48), rate=25, time_base=Fraction(1, 12800),
                     picture=lambda i, w, h: np.full((h, w), 20 + 3 * i, np.uint8), bframes=False)
    originals = [lightness(read_frame(src, (i + 0.5) / 25)).mean() for i in range(60)]
    panel = open_video(qtbot, window, src)
    for index in (29, 47, 57):
        panel.seek(index)
        qtbot.waitUntil(lambda index=index: panel.shown_frame() == index and not window.engine.is_busy(),
                        timeout=10_000)
        dst = tmp_path / f"frame{index}.png"
        window.save_to(dst)
        qtbot.waitUntil(dst.exists, timeout=10_000)
        with Image.open(dst) as im:
            saved = lightness(im.convert("RGB")).mean()
        assert int(np.argmin(np.abs(np.array(originals) - saved))) == index


@pytest.fixture
def kept_render(qtbot, window, video_factory, tmp_path, monkeypatch):
    """(video, output): the window's render of a video, stopped as a crash stops it (its complete
    segments kept, its output not written), and remembered by the app as unfinished."""
    import json
    import time

    from vidcolor.video import segments

    monkeypatch.setattr(segments, "SEGMENT_SECONDS", 0.25)  # 6 frames
    video = video_factory(tmp_path / "clip.mp4", frames=48, audio=False)
    dst = tmp_path / "clip_colour.mp4"
    open_video(qtbot, window, video)
    bar = window.render_bar
    with monkeypatch.context() as crash:
        crash.setattr(segments.RenderState, "remove", lambda self: None)  # what a kill leaves
        write = segments.SegmentEncoder.write
        crash.setattr(segments.SegmentEncoder, "write", lambda *a: (time.sleep(0.05), write(*a)))  # stopped midway
        window.render_video(dst)
        qtbot.waitUntil(lambda: segments.interrupted_frames(dst) >= 12, timeout=30_000)
        bar.cancel()
        qtbot.waitUntil(lambda: not bar.is_running(), timeout=10_000)
    assert bar.last_report is None and not dst.exists() and 12 <= segments.interrupted_frames(dst) < 48
    window.store.setValue("renders/unfinished", json.dumps({str(video): str(dst)}))
    return video, dst


@pytest.mark.parametrize("answer", ["yes", "no"])
def test_opening_a_video_offers_to_resume_its_interrupted_render(qtbot, window, kept_render, dialogs, answer):
    import json

    from PySide6.QtWidgets import QMessageBox

    from vidcolor.video import segments

    video, dst = kept_render
    state, kept = segments.resume_dir(dst), segments.interrupted_frames(dst)
    dialogs.answer = QMessageBox.StandardButton.Yes if answer == "yes" else QMessageBox.StandardButton.No
    open_video(qtbot, window, video)
    qtbot.waitUntil(lambda: bool(dialogs.questions), timeout=20_000)
    assert len(dialogs.questions) == 1 and f"keeps its first {kept} frames" in dialogs.questions[0]
    if answer == "yes":
        bar = window.render_bar
        qtbot.waitUntil(lambda: bar.last_report is not None, timeout=60_000)
        assert bar.last_report.output == dst and dst.is_file()
        assert bar.last_report.resumed == kept and bar.last_report.frames == 48  # as it said
        assert not state.exists()
    else:
        assert not state.exists() and not dst.exists()
    assert json.loads(window.store.value("renders/unfinished")) == {}
    open_video(qtbot, window, video)
    assert len(dialogs.questions) == 1  # asked once


def test_a_kept_render_the_settings_would_not_resume_is_not_offered(qtbot, window, kept_render, dialogs):
    import dataclasses
    import json

    from PySide6.QtWidgets import QMessageBox

    from vidcolor.video import segments

    video, dst = kept_render
    s = window.settings_panel.settings()
    window.settings_panel.set_settings(dataclasses.replace(s, crf=s.crf + 2))  # a render would start over
    dialogs.answer = QMessageBox.StandardButton.No
    open_video(qtbot, window, video)
    qtbot.waitUntil(lambda: json.loads(window.store.value("renders/unfinished")) == {}, timeout=20_000)
    assert dialogs.questions == []
    assert not segments.resume_dir(dst).exists() and not window.render_bar.is_running()
