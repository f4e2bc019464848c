"""Colour from a reference photo (vidcolor.reference): content is matched, not positions or global
statistics; an unrelated reference changes nothing; the user's hints win; bad references are
refused by name before anything is written; on video a reference colours its shot."""

import json

import numpy as np
import pytest
import torch
from imgutil import lab, sample_photo
from PIL import Image

from vidcolor.color import image_to_l, lab_to_rgb
from vidcolor.engine import Colorizer
from vidcolor.errors import ReferencePhotoError
from vidcolor.hints import Hint, load_hints, save_hints
from vidcolor.reference import MATCH_SIZE, Reference, load_reference, match_references

RED, BLUE = (45.0, 30.0), (5.0, -40.0)  # a*b* painted on the reference's bands
CROP = 0.6  # reference: the photo's first 60 % of its width; target: its last 60 %


@pytest.fixture(scope="module")
def colorizer():
    # Matching sees every target at MATCH_SIZE whatever the render size; the render itself is
    # small to keep the tests fast.
    return Colorizer.from_pretrained(device="cpu", size=96)


def painted(gray: np.ndarray) -> np.ndarray:
    """``gray`` in colour: blue left of 40 % of its width, red from 40 to 60 %, gray beyond;
    its own L* everywhere."""
    H, W = gray.shape
    L = image_to_l(gray)[0]
    x = torch.arange(W)[None].expand(H, W)
    ab = torch.zeros(2, H, W)
    for colour, band in ((BLUE, x < 0.4 * W), (RED, (x >= 0.4 * W) & (x < 0.6 * W))):
        ab[0][band], ab[1][band] = colour
    rgb = lab_to_rgb(torch.cat((L[None], ab)))
    return (rgb.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)


@pytest.fixture(scope="module")
def pair():
    """(reference RGB, gray target, overlap columns of the target): two crops of one photo."""
    gray = sample_photo()
    W = gray.shape[1]
    n = round(CROP * W)
    overlap = slice(0, round((2 * CROP - 1) * W) - 2)  # the target's columns the reference shows (red)
    return painted(gray)[:, :n], gray[:, W - n:], overlap


def ab_mean(rgb: np.ndarray, cols=slice(None)) -> np.ndarray:
    return lab(rgb)[:, cols, 1:].reshape(-1, 2).mean(0)


def test_a_reference_colours_what_it_shows_where_the_target_shows_it(colorizer, pair):
    ref, target, overlap = pair
    auto = colorizer.colorize_image(target)
    ours = colorizer.colorize_image(target, references=[Reference(ref, "painted.png")])
    a, b = ab_mean(ours, overlap)
    # The overlap is red in the reference, where it is at the reference's right; the reference's
    # left (at the same place as the target's overlap) is blue: copying by position gives blue.
    assert a > ab_mean(auto, overlap)[0] + 10, (a, ab_mean(auto, overlap))
    assert a > 20 and b > 0, (a, b)


def test_matching_finds_the_shared_part_at_any_render_size(pair):
    ref, target, overlap = pair
    L = image_to_l(target)[None]
    reference = Reference(ref)
    counts = []
    for size in (64, MATCH_SIZE, 320):
        hints = match_references(Colorizer.from_pretrained(device="cpu", size=size), L, [reference])
        assert all(h.matched for h in hints)
        in_overlap = [h for h in hints if h.x < overlap.stop]
        red = [h for h in in_overlap if Hint.ab(h)[0] > 20]
        assert len(red) >= 0.8 * len(in_overlap) > 0, (size, len(red), len(in_overlap))
        counts.append(len(hints))
    assert len(set(counts)) == 1, counts  # matching does not depend on the render size


def test_an_unrelated_reference_leaves_the_automatic_result(colorizer, pair):
    _, target, _ = pair
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:300, 0:400]
    stripes = np.stack([(np.sin(x / 7.0 + k) * 60 + 128 + rng.normal(0, 30, x.shape)) for k in (0, 2, 4)], -1)
    noise = np.clip(stripes, 0, 255).astype(np.uint8)
    auto = colorizer.colorize_image(target)
    ours = colorizer.colorize_image(target, references=[Reference(noise, "stripes")])
    diff = np.abs(lab(ours)[..., 1:] - lab(auto)[..., 1:]).mean()
    assert diff < 1.0, diff


def test_the_users_hints_win_where_they_meet_a_reference(colorizer, pair):
    ref, target, overlap = pair
    x, y = overlap.stop // 2, target.shape[0] // 2
    green = Hint(x, y, "#2E8B3A")
    ours = colorizer.colorize_image(target, hints=[green], references=[Reference(ref)])
    a, b = lab(ours)[y - 3:y + 4, x - 3:x + 4, 1:].reshape(-1, 2).mean(0)
    assert a < -10, (a, b)  # the user's green, not the reference's red


def test_a_gray_missing_or_unreadable_reference_is_refused_by_name(tmp_path, pair):
    _, target, _ = pair
    gray_rgb = np.repeat(target[..., None], 3, axis=2)
    with pytest.raises(ReferencePhotoError, match="old.png.*no colour"):
        Reference(gray_rgb, "old.png")
    with pytest.raises(ReferencePhotoError, match="gray"):
        Reference(target, "flat.png")
    with pytest.raises(ReferencePhotoError, match="missing.jpg"):
        load_reference(tmp_path / "missing.jpg")
    (tmp_path / "broken.jpg").write_bytes(b"not a picture")
    with pytest.raises(ReferencePhotoError, match="broken.jpg"):
        load_reference(tmp_path / "broken.jpg")


def test_matched_hints_are_not_written_to_a_hints_file(tmp_path):
    path = tmp_path / "p.hints.json"
    save_hints(path, [Hint(1, 2, "#112233"), Hint(3, 4, "#445566", matched=True)])
    assert load_hints(path) == [Hint(1, 2, "#112233")]


def test_cli_photo_takes_references_and_refuses_a_bad_one_before_writing(tmp_path, pair, monkeypatch, capsys):
    from vidcolor.cli import main

    ref, target, overlap = pair
    monkeypatch.chdir(tmp_path)
    Image.fromarray(ref).save("postcard.png")
    Image.fromarray(target).save("old.png")
    Image.fromarray(np.repeat(target[..., None], 3, axis=2)).save("gray.png")
    for bad in ("gray.png", "nothere.jpg"):
        status = main(["photo", "old.png", "-o", "out.png", "--size", "96", "--reference", "postcard.png",
                       "--reference", bad, "-q"])
        assert status != 0 and bad in capsys.readouterr().err
        assert sorted(p.name for p in tmp_path.iterdir()) == ["gray.png", "old.png", "postcard.png"]
    assert main(["photo", "old.png", "-o", "out.png", "--size", "96", "--reference", "postcard.png", "-q"]) == 0
    assert ab_mean(np.asarray(Image.open("out.png").convert("RGB")), overlap)[0] > 20


def test_cli_video_reference_times_are_parsed_and_checked(tmp_path, pair):
    from vidcolor.cli import _references

    ref, _, _ = pair
    Image.fromarray(ref).save(tmp_path / "house@home.png")  # an @ in a real name is a name
    refs = _references([str(tmp_path / "house@home.png"), f"{tmp_path / 'house@home.png'}@2.5"], timed=True)
    assert [r.t for r in refs] == [None, 2.5]
    with pytest.raises(ReferencePhotoError, match="SECONDS"):
        _references([f"{tmp_path / 'house@home.png'}@soon"], timed=True)


def test_reference_eval_scores_the_gain_over_the_automatic_result(colorizer):
    from vidcolor.reference_eval import Pair, score_pairs, summarise

    whole = painted(sample_photo())  # the camera moved 24 pixels: everything has its match
    rows, _ = score_pairs(colorizer, [Pair("moved", "t", whole[:, :-24], whole[:, 24:])], progress=False)
    summary = summarise(rows)
    assert summary["pairs"] == 1 and summary["gain_db"] > 0.5, summary
    json.dumps(summary)  # reportable as it is


def test_reference_eval_builds_each_kind_of_pair(tmp_path):
    from vidcolor.evaluate import collect
    from vidcolor.reference_eval import clip_pair, crops, photo_pairs, sequences

    rng = np.random.default_rng(3)
    for name in ("a/one.png", "a/two.png", "b/three.png", "clips/walk/0000.png", "clips/walk/0001.png",
                 "clips/dog__00000.png", "clips/dog__00010.png", "clips/dog__00020.png"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (40, 100, 3), dtype=np.uint8)).save(tmp_path / name)
    pairs = photo_pairs(collect([tmp_path / "a", tmp_path / "b"]))
    kinds = [p.kind for p in pairs]
    assert kinds.count("reframed") == 3 and kinds.count("unrelated") == 3 and kinds.count("look-alike") == 1
    alike = next(p for p in pairs if p.kind == "look-alike")
    assert alike.name.startswith("a/one.png") and alike.name.endswith("two.png")
    first, second = crops(np.arange(40 * 100).reshape(40, 100))
    assert first.shape == second.shape == (40, 60)
    assert np.array_equal(second[:, :20], first[:, 40:])  # they overlap by a fifth of the photo
    clips = dict(sequences(tmp_path / "clips"))
    assert sorted(clips) == ["dog", "walk"] and len(clips["dog"]) == 3 and len(clips["walk"]) == 2
    moved = clip_pair("dog", clips["dog"])
    assert moved.kind == "moved" and np.array_equal(moved.target, np.asarray(Image.open(clips["dog"][-1])))
