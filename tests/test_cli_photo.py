"""``vidcolor photo`` end to end: in-process through ``vidcolor.cli.main``, and once as the installed
console script."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from imgutil import CAN_DENY, assert_coloured, files_under, lightness, sample_photo, snapshot, write_bad_file
from PIL import Image

from vidcolor.cli import main

RENDER = ["--size", "64", "--device", "cpu", "-q"]
SIZES = {"portrait.png": (61, 40), "wide.jpg": (24, 150), "square.tif": (48, 48), "odd.png": (33, 77)}


def photo(args, capsys) -> tuple[int, list[str]]:
    """Run ``vidcolor photo ARGS``; returns the exit status and the lines written to stderr."""
    status = main(["photo", *map(str, args), *RENDER])
    err = capsys.readouterr().err
    return status, [line for line in err.splitlines() if line.strip()]


@pytest.fixture
def photos(tmp_path) -> Path:
    """A folder of grayscale photos of several sizes (a real photo, resized), and a sub-folder with two more."""
    root = tmp_path / "photos"
    (root / "trip" / "day1").mkdir(parents=True)
    for name, size in SIZES.items():
        Image.fromarray(sample_photo(size)).save(root / name)
    Image.fromarray(sample_photo((40, 56))).save(root / "trip" / "beach.jpg")
    Image.fromarray(sample_photo((32, 45))).save(root / "trip" / "day1" / "hill.png")
    (root / "notes.txt").write_text("not a photo")
    return root


def assert_same_picture(src: Path, dst: Path) -> None:
    with Image.open(src) as a, Image.open(dst) as b:
        assert b.size == a.size, (src, b.size, a.size)
        assert b.mode == "RGB"
        gray, out = np.asarray(a.convert("L")), np.asarray(b.convert("RGB"))
    dl = np.abs(lightness(out) - lightness(gray))
    assert dl.mean() < 1.0, (src, dl.mean())
    assert_coloured(out, gray)  # and colour, not the gray input written back as RGB


def test_folder_of_gray_photos(photos, tmp_path, capsys):
    before = snapshot(photos)
    out = tmp_path / "out"
    status, errors = photo([photos, "-o", out], capsys)
    assert status == 0 and errors == []
    assert files_under(out) == sorted(SIZES)
    for name in SIZES:
        assert_same_picture(photos / name, out / name)
    with Image.open(out / "wide.jpg") as im:
        assert im.format == "JPEG"
    assert snapshot(photos) == before  # inputs untouched: bytes, times, permissions


def test_recursive_mirrors_sub_folders(photos, tmp_path, capsys):
    out = tmp_path / "out"
    status, errors = photo([photos, "-o", out, "-r", "--format", "png"], capsys)
    assert status == 0 and errors == []
    expected = sorted([str(Path(n).with_suffix(".png")) for n in SIZES] + ["trip/beach.png", "trip/day1/hill.png"])
    assert files_under(out) == expected
    assert_same_picture(photos / "trip" / "day1" / "hill.png", out / "trip" / "day1" / "hill.png")
    assert_same_picture(photos / "trip" / "beach.jpg", out / "trip" / "beach.png")
    # Running again into an output folder inside the input does not pick up earlier results.
    nested = photos / "coloured"
    assert photo([photos, "-o", nested, "-r"], capsys)[0] == 0
    assert photo([photos, "-o", nested, "-r", "--overwrite"], capsys)[0] == 0
    assert not (nested / "coloured").exists()


@pytest.mark.parametrize("ext, fmt", [("png", "PNG"), ("jpg", "JPEG"), ("tif", "TIFF"), ("webp", "WEBP")])
def test_single_file_to_file_in_the_extensions_format(photos, tmp_path, capsys, ext, fmt):
    dst = tmp_path / f"result.{ext}"
    status, errors = photo([photos / "odd.png", "-o", dst], capsys)
    assert status == 0 and errors == []
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == [f"result.{ext}"]  # no temporaries
    with Image.open(dst) as im:
        assert im.format == fmt
    assert_same_picture(photos / "odd.png", dst)


def test_several_files_into_a_folder(photos, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    assert photo([photos / "wide.jpg", photos / "odd.png", "-o", out], capsys) == (0, [])
    assert files_under(out) == ["odd.png", "wide.jpg"]


def test_bad_files_are_reported_and_the_rest_written(photos, tmp_path, capsys):
    kinds = ["zero-byte", "truncated-jpeg", "truncated-png", "text-as-jpeg", "bomb", "huge"]
    bad = [write_bad_file(photos, kind).name for kind in kinds + (["unreadable"] if CAN_DENY else [])]
    before = snapshot(photos)
    out = tmp_path / "out"
    status, errors = photo([photos, "-o", out], capsys)
    assert status != 0
    assert len(errors) == len(bad), errors
    for name in bad:
        (line,) = [e for e in errors if name in e]
        assert line.startswith("vidcolor: error: ") and str(photos / name) in line
    assert not any("Traceback" in e for e in errors)
    assert files_under(out) == sorted(SIZES)
    for name in SIZES:
        assert_same_picture(photos / name, out / name)
    assert snapshot(photos) == before


@pytest.mark.parametrize("output", ["odd.png", "."])
def test_output_equal_to_an_input_is_refused(photos, capsys, output):
    before = snapshot(photos)
    inputs = [photos / "odd.png"] if output == "odd.png" else [photos]
    status, errors = photo([*inputs, "-o", photos / output], capsys)
    assert status != 0
    assert len(errors) == 1 and "overwrite an input" in errors[0]
    assert snapshot(photos) == before


def test_existing_output_is_kept_without_overwrite(photos, tmp_path, capsys):
    dst = tmp_path / "result.png"
    dst.write_bytes(b"earlier result")
    status, errors = photo([photos / "odd.png", "-o", dst], capsys)
    assert status != 0 and len(errors) == 1
    assert str(dst) in errors[0] and "--overwrite" in errors[0]
    assert dst.read_bytes() == b"earlier result"
    assert photo([photos / "odd.png", "-o", dst, "--overwrite"], capsys) == (0, [])
    assert_same_picture(photos / "odd.png", dst)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["result.png"]  # no temporaries


def test_missing_input_is_an_error(tmp_path, capsys):
    status, errors = photo([tmp_path / "nope.png", "-o", tmp_path / "out.png"], capsys)
    assert status != 0 and len(errors) == 1 and str(tmp_path / "nope.png") in errors[0]
    assert files_under(tmp_path) == []


def test_cuda_without_a_gpu_is_a_clear_error(photos, tmp_path, capsys, no_cuda):
    status = main(["photo", str(photos / "odd.png"), "-o", str(tmp_path / "x.png"), "--device", "cuda", "-q"])
    errors = capsys.readouterr().err.strip().splitlines()
    assert status != 0
    assert len(errors) == 1 and "CUDA" in errors[0] and "--device cpu" in errors[0]
    assert not (tmp_path / "x.png").exists()


def test_console_script(photos, tmp_path):
    script = shutil.which("vidcolor", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the vidcolor console script is not installed in this environment")
    out = tmp_path / "out"
    (photos / "empty.png").write_bytes(b"")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([script, "photo", str(photos), "-o", str(out), *RENDER], capture_output=True,
                          text=True, timeout=120, env=env)
    assert proc.returncode == 1, proc.stderr
    errors = proc.stderr.strip().splitlines()
    assert len(errors) == 1 and str(photos / "empty.png") in errors[0], proc.stderr
    assert files_under(out) == sorted(SIZES)
    for name in SIZES:
        assert_same_picture(photos / name, out / name)
