"""Photo files: every input mode, orientation, metadata, output formats, bad files, atomic writes."""

import io
import struct

import cv2
import numpy as np
import pytest
from imgutil import (
    CAN_DENY,
    assert_coloured,
    files_under,
    gray_image,
    lightness,
    rgb_image,
    sample_photo,
    snapshot,
    write_bad_file,
)
from PIL import Image, ImageCms, ImageOps

from vidcolor import photo as P
from vidcolor.photo import PhotoError, colorize_file, colorize_photos, plan_outputs, read_photo, write_photo

H, W = 40, 56  # small and not square
ORIENTATION, MAKE, ARTIST = 0x0112, 0x010F, 0x013B


def srgb_description(icc: bytes) -> str:
    return ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip()


def dated_srgb_profile() -> bytes:
    """A real RGB profile whose bytes differ from the sRGB profile written by default (its date)."""
    icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    icc[24:36] = struct.pack(">6H", 2001, 2, 3, 4, 5, 6)
    return bytes(icc)


def make_exif(**tags) -> Image.Exif:
    exif = Image.Exif()
    for tag, value in tags.items():
        exif[{"orientation": ORIENTATION, "make": MAKE, "artist": ARTIST}[tag]] = value
    return exif


def opened(path) -> Image.Image:
    with Image.open(path) as im:
        im.load()
        return im


def expected_lightness(src) -> np.ndarray:
    """L* of the input as a viewer shows it (orientation applied), from Pillow, not from vidcolor."""
    with Image.open(src) as im:
        im = ImageOps.exif_transpose(im)
        if im.mode.startswith("I;16"):
            return lightness(np.asarray(im).astype(np.uint16))
        return lightness(np.asarray(im.convert("RGB")))


def output_pixels(path) -> np.ndarray:
    data = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if data is not None and data.dtype == np.uint16:
        return data[..., 2::-1] if data.ndim == 3 else data
    return np.asarray(opened(path).convert("RGB"))


def assert_colourised(src, dst, max_mean_dl=1.0, min_chroma=5.0):
    """``dst`` is ``src`` at its lightness, with colour (not the gray written back as RGB)."""
    out = output_pixels(dst)
    ref = expected_lightness(src)
    assert out.shape[:2] == ref.shape, (out.shape, ref.shape)
    dl = np.abs(lightness(out) - ref)
    assert dl.mean() < max_mean_dl, dl.mean()
    assert_coloured(out, min_chroma=min_chroma)


# -- inputs of every kind ----------------------------------------------------------------------------
def write_mode(path, mode: str, **save) -> None:
    """An image of the given Pillow mode with the test picture in it (a real photo, or a colourful
    synthetic one for the colour modes)."""
    gray = Image.fromarray(sample_photo((H, W)))
    if mode == "I;16":
        im = Image.fromarray(sample_photo((H, W), np.uint16))
    elif mode in ("RGBA", "LA"):
        base = Image.fromarray(rgb_image(H, W)) if mode == "RGBA" else gray
        alpha = Image.fromarray(np.tile(np.linspace(0, 255, W).astype(np.uint8), (H, 1)))
        im = base.convert("RGBA" if mode != "LA" else "LA")
        im.putalpha(alpha)
    elif mode == "P":
        im = Image.fromarray(rgb_image(H, W)).quantize(64)
    elif mode == "RGB":
        im = Image.fromarray(rgb_image(H, W))
    else:
        im = gray.convert(mode)
    im.save(path, **save)


MODES = [("1", "png"), ("L", "png"), ("L", "jpg"), ("I;16", "png"), ("I;16", "tif"), ("RGB", "png"),
         ("RGB", "jpg"), ("P", "png"), ("P", "gif"), ("CMYK", "jpg"), ("CMYK", "tif"), ("RGBA", "png"),
         ("LA", "png"), ("L", "bmp"), ("L", "webp"), ("RGB", "tif")]


@pytest.mark.parametrize("mode, ext", MODES, ids=[f"{m}-{e}" for m, e in MODES])
def test_every_mode_is_colourised_at_its_size_and_lightness(colorizer, tmp_path, mode, ext):
    src = tmp_path / f"in.{ext}"
    write_mode(src, mode)
    photo = read_photo(src)
    assert photo.size == (W, H)
    assert photo.pixels.dtype == (np.uint16 if mode == "I;16" else np.uint8)
    dst = tmp_path / "out.png"
    colorize_file(colorizer, src, dst)
    assert_colourised(src, dst, min_chroma=2.0 if mode == "1" else 5.0)  # "1": dithered, less colour
    assert opened(dst).size == (W, H)


def test_sixteen_bit_gray_gives_sixteen_bit_png_and_tiff(colorizer, tmp_path):
    src = tmp_path / "deep.png"
    write_mode(src, "I;16")
    for name in ("out.png", "out.tif"):
        colorize_file(colorizer, src, tmp_path / name)
        out = cv2.imread(str(tmp_path / name), cv2.IMREAD_UNCHANGED)
        assert out.dtype == np.uint16 and out.shape == (H, W, 3), name
        assert len(np.unique(out)) > 256  # really 16-bit, not 8-bit values scaled up
        assert_colourised(src, tmp_path / name, max_mean_dl=0.1)
    colorize_file(colorizer, src, tmp_path / "out.jpg")  # formats without 16 bits get 8
    assert opened(tmp_path / "out.jpg").mode == "RGB"
    assert_colourised(src, tmp_path / "out.jpg")


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_is_kept(colorizer, tmp_path, mode):
    src = tmp_path / "alpha.png"
    write_mode(src, mode)
    with Image.open(src) as im:
        alpha = np.asarray(im.convert("RGBA"))[..., 3]
    assert alpha.min() == 0 and alpha.max() == 255
    for name in ("out.png", "out.tif", "out.webp"):
        colorize_file(colorizer, src, tmp_path / name)
        out = opened(tmp_path / name)
        assert out.mode == "RGBA", name
        tolerance = 0 if name != "out.webp" else 2
        assert np.abs(np.asarray(out)[..., 3].astype(int) - alpha).max() <= tolerance, name
    colorize_file(colorizer, src, tmp_path / "out.jpg")
    assert opened(tmp_path / "out.jpg").mode == "RGB"


def test_palette_transparency_is_kept(colorizer, tmp_path):
    im = Image.fromarray(gray_image(H, W)).convert("P")
    im.info["transparency"] = int(np.asarray(im)[0, 0])
    src = tmp_path / "pal.png"
    im.save(src, transparency=im.info["transparency"])
    colorize_file(colorizer, src, tmp_path / "out.png")
    out = opened(tmp_path / "out.png")
    assert out.mode == "RGBA" and np.asarray(out)[0, 0, 3] == 0 and np.asarray(out)[..., 3].max() == 255


# -- orientation and metadata -------------------------------------------------------------------------
@pytest.mark.parametrize("orientation, size", [(1, (W, H)), (3, (W, H)), (6, (H, W)), (8, (H, W))])
def test_exif_orientation_is_honoured(colorizer, tmp_path, orientation, size):
    src = tmp_path / "turned.jpg"
    image = sample_photo((H, W))
    image[:8, :8] = 255  # a white corner shows which way the picture was turned
    Image.fromarray(image).save(src, exif=make_exif(orientation=orientation, make="TestCam"), quality=95)
    dst = tmp_path / "out.png"
    colorize_file(colorizer, src, dst)
    out = opened(dst)
    assert out.size == size
    assert_colourised(src, dst)
    exif = out.getexif()
    assert exif.get(MAKE) == "TestCam"
    assert exif.get(ORIENTATION, 1) == 1  # already applied: viewers must not turn it again


@pytest.mark.parametrize("ext", ["png", "jpg", "tif", "webp"])
def test_exif_is_kept(colorizer, tmp_path, ext):
    src = tmp_path / "tagged.jpg"
    Image.fromarray(gray_image(H, W)).save(src, exif=make_exif(make="TestCam", artist="A. Person"))
    dst = tmp_path / f"out.{ext}"
    colorize_file(colorizer, src, dst)
    exif = opened(dst).getexif()
    assert exif.get(MAKE) == "TestCam" and exif.get(ARTIST) == "A. Person"


def test_sixteen_bit_png_keeps_exif_and_gets_srgb(colorizer, tmp_path, caplog):
    src = tmp_path / "deep.tif"
    Image.fromarray(gray_image(H, W, np.uint16)).save(src, exif=make_exif(make="TestCam"))
    assert read_photo(src).pixels.dtype == np.uint16
    colorize_file(colorizer, src, tmp_path / "out.png")
    assert cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    out = opened(tmp_path / "out.png")
    assert out.getexif().get(MAKE) == "TestCam"
    assert not {256, 257, 273, 279} & set(out.getexif())  # the TIFF input's own layout is not carried
    assert srgb_description(out.info["icc_profile"]) == "sRGB built-in"
    colorize_file(colorizer, src, tmp_path / "out.tif")  # 16-bit TIFF: pixels kept, metadata not
    assert "without the input's EXIF" in caplog.text


@pytest.mark.parametrize("ext", ["png", "jpg", "tif", "webp"])
def test_rgb_icc_profile_is_kept(colorizer, tmp_path, ext):
    icc = dated_srgb_profile()
    src = tmp_path / "profiled.png"
    Image.fromarray(rgb_image(H, W)).save(src, icc_profile=icc)
    dst = tmp_path / f"out.{ext}"
    colorize_file(colorizer, src, dst)
    assert opened(dst).info.get("icc_profile") == icc


@pytest.mark.parametrize("ext", ["png", "jpg", "tif", "webp"])
@pytest.mark.parametrize("source_icc", [None, "lab"])
def test_srgb_is_embedded_for_gray_inputs(colorizer, tmp_path, ext, source_icc):
    # A gray input's own profile cannot describe a colour output; sRGB is written instead.
    src = tmp_path / "gray.png"
    kwargs = {}
    if source_icc:
        kwargs["icc_profile"] = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    Image.fromarray(gray_image(H, W)).save(src, **kwargs)
    dst = tmp_path / f"out.{ext}"
    colorize_file(colorizer, src, dst)
    icc = opened(dst).info.get("icc_profile")
    assert icc and srgb_description(icc) == "sRGB built-in"


def test_cmyk_profile_is_not_carried_to_rgb(colorizer, tmp_path):
    src = tmp_path / "cmyk.jpg"
    write_mode(src, "CMYK", icc_profile=dated_srgb_profile())  # any profile: it would describe CMYK
    assert read_photo(src).icc is None
    colorize_file(colorizer, src, tmp_path / "out.jpg")
    assert srgb_description(opened(tmp_path / "out.jpg").info["icc_profile"]) == "sRGB built-in"


# -- output formats -----------------------------------------------------------------------------------
@pytest.mark.parametrize("ext, fmt", [(".png", "PNG"), (".jpg", "JPEG"), (".jpeg", "JPEG"), (".JPG", "JPEG"),
                                      (".tif", "TIFF"), (".tiff", "TIFF"), (".webp", "WEBP")])
def test_output_format_follows_the_extension(tmp_path, ext, fmt):
    rgb = rgb_image(H, W)
    dst = tmp_path / f"out{ext}"
    write_photo(dst, rgb)
    im = opened(dst)
    assert im.format == fmt and im.size == (W, H) and im.mode == "RGB"
    lossless = fmt in ("PNG", "TIFF")
    diff = np.abs(np.asarray(im).astype(int) - rgb)
    assert (diff.max() == 0) if lossless else (diff.mean() < 3)


@pytest.mark.parametrize("name", ["out.gif", "out.bmp", "out", "out.png.txt"])
def test_unknown_output_format_is_refused(tmp_path, name):
    with pytest.raises(PhotoError, match="unknown output format") as info:
        write_photo(tmp_path / name, rgb_image(H, W))
    assert str(tmp_path / name) in str(info.value)
    assert files_under(tmp_path) == []


# -- bad inputs ---------------------------------------------------------------------------------------
NEEDS_PERMISSIONS = pytest.mark.skipif(not CAN_DENY, reason="file permissions do not bind root")
BAD = ["zero-byte", "truncated-jpeg", "truncated-png", "text-as-jpeg", "bomb", "huge", "missing", "folder",
       pytest.param("unreadable", marks=NEEDS_PERMISSIONS)]


@pytest.mark.parametrize("kind", BAD)
def test_bad_inputs_raise_a_one_line_photo_error_naming_the_file(tmp_path, kind):
    path = write_bad_file(tmp_path, kind)
    with pytest.raises(PhotoError) as info:
        read_photo(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message, message


def test_decompression_bombs_are_refused_before_decoding(tmp_path):
    with pytest.raises(PhotoError, match="decompression bomb"):
        read_photo(write_bad_file(tmp_path, "bomb"))


def test_pillows_warning_level_does_not_refuse_photos_under_the_limit(tmp_path, monkeypatch):
    # Pillow warns from MAX_IMAGE_PIXELS (89 MP by default) and refuses from twice that; photos up
    # to MAX_PIXELS (150 MP) are meant to be colourised. Scaled down here to stay small.
    path = tmp_path / "big.png"
    Image.fromarray(gray_image(H, W)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", H * W - 1)
    assert read_photo(path).size == (W, H)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", H * W // 2 - 1)
    with pytest.raises(PhotoError, match="decompression bomb"):
        read_photo(path)


def test_pixel_limit_is_configurable(tmp_path, monkeypatch):
    path = tmp_path / "small.png"
    Image.fromarray(gray_image(H, W)).save(path)
    assert read_photo(path).size == (W, H)
    monkeypatch.setattr(P, "MAX_PIXELS", H * W - 1)
    with pytest.raises(PhotoError, match="MP limit") as info:
        read_photo(path)
    assert str(path) in str(info.value)


# -- atomic writes ------------------------------------------------------------------------------------
def _fail_midway_pil(self, fp, *args, **kwargs):
    fp.write(b"partial data")
    raise OSError(28, "No space left on device")


def _fail_midway_cv2(path, img, *args):
    with open(path, "wb") as fh:
        fh.write(b"partial data")
    return False


@pytest.mark.parametrize("depth, ext", [(8, "png"), (16, "png"), (16, "tif")])
def test_failed_write_leaves_nothing_behind(tmp_path, monkeypatch, depth, ext):
    if depth == 8:
        monkeypatch.setattr(Image.Image, "save", _fail_midway_pil)
        rgb = rgb_image(H, W)
    else:
        monkeypatch.setattr(P.cv2, "imwrite", _fail_midway_cv2)
        monkeypatch.setattr(P.cv2, "imwriteWithMetadata", _fail_midway_cv2)
        rgb = rgb_image(H, W, np.uint16)
    dst = tmp_path / f"out.{ext}"
    with pytest.raises(PhotoError) as info:
        write_photo(dst, rgb)
    assert str(dst) in str(info.value)
    assert files_under(tmp_path) == []
    # An existing file is left exactly as it was.
    dst.write_bytes(b"old result")
    with pytest.raises(PhotoError):
        write_photo(dst, rgb)
    assert dst.read_bytes() == b"old result"
    assert files_under(tmp_path) == [dst.name]


def test_failed_write_of_a_batch_leaves_no_temporaries(colorizer, tmp_path, monkeypatch):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a.png", "b.png"):
        Image.fromarray(gray_image(H, W)).save(src / name)
    real_save, calls = Image.Image.save, []

    def fail_second(self, fp, *args, **kwargs):  # photos go in name order: b.png's save fails
        calls.append(fp)
        if len(calls) == 2:
            return _fail_midway_pil(self, fp)
        return real_save(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", fail_second)
    messages = []
    failures = colorize_photos(colorizer, [src], tmp_path / "out", report=messages.append)
    assert [f.name for f, _ in failures] == ["b.png"]
    assert len(messages) == 1 and str(tmp_path / "out" / "b.png") in messages[0]
    assert files_under(tmp_path / "out") == ["a.png"]


@NEEDS_PERMISSIONS
def test_read_only_output_folder(colorizer, tmp_path):
    src = tmp_path / "in.png"
    Image.fromarray(gray_image(H, W)).save(src)
    out = tmp_path / "locked"
    out.mkdir()
    out.chmod(0o555)
    try:
        with pytest.raises(PhotoError) as info:
            colorize_file(colorizer, src, out / "in.png")
        assert str(out / "in.png") in str(info.value)
        assert files_under(out) == []
    finally:
        out.chmod(0o755)


# -- planning a batch ---------------------------------------------------------------------------------
@pytest.fixture
def tree(tmp_path):
    """in/a.png, in/b.jpg, in/c.bmp, in/notes.txt, in/.hidden.png, in/sub/d.tif, in/sub/deeper/e.png"""
    root = tmp_path / "in"
    (root / "sub" / "deeper").mkdir(parents=True)
    for rel in ("a.png", "b.jpg", "c.bmp", ".hidden.png", "sub/d.tif", "sub/deeper/e.png"):
        Image.fromarray(gray_image(H, W)).save(root / rel)
    (root / "notes.txt").write_text("not an image")
    return root


def rel_pairs(pairs, src_root, dst_root):
    return sorted((str(s.relative_to(src_root)), str(d.relative_to(dst_root))) for s, d in pairs)


def test_plan_folder(tree, tmp_path):
    out = tmp_path / "out"
    assert rel_pairs(plan_outputs([tree], out), tree, out) == [
        ("a.png", "a.png"), ("b.jpg", "b.jpg"), ("c.bmp", "c.png")]
    assert rel_pairs(plan_outputs([tree], out, recursive=True), tree, out) == [
        ("a.png", "a.png"), ("b.jpg", "b.jpg"), ("c.bmp", "c.png"),
        ("sub/d.tif", "sub/d.tif"), ("sub/deeper/e.png", "sub/deeper/e.png")]
    assert rel_pairs(plan_outputs([tree], out, suffix="webp"), tree, out) == [
        ("a.png", "a.webp"), ("b.jpg", "b.webp"), ("c.bmp", "c.webp")]


@pytest.mark.parametrize("extra, suffix", [("c.png", None), ("a.jpg", "webp")])
def test_plan_refuses_two_inputs_with_one_output_name(tree, tmp_path, extra, suffix):
    # c.bmp (written as PNG) beside c.png, or a.png and a.jpg both as WebP: one would replace the other.
    Image.fromarray(gray_image(H, W)).save(tree / extra)
    with pytest.raises(PhotoError, match="would both be written to") as info:
        plan_outputs([tree], tmp_path / "out", suffix=suffix)
    assert extra in str(info.value)


def test_plan_keeps_same_named_inputs_apart_in_their_own_formats(tree, tmp_path):
    Image.fromarray(gray_image(H, W)).save(tree / "a.jpg")
    out = tmp_path / "out"
    assert rel_pairs(plan_outputs([tree], out), tree, out) == [
        ("a.jpg", "a.jpg"), ("a.png", "a.png"), ("b.jpg", "b.jpg"), ("c.bmp", "c.png")]


def test_plan_single_file(tree, tmp_path):
    assert plan_outputs([tree / "a.png"], tmp_path / "x.jpg") == [(tree / "a.png", tmp_path / "x.jpg")]
    # An existing folder (even with a dot in its name) is a folder output.
    folder = tmp_path / "results.v2"
    folder.mkdir()
    assert plan_outputs([tree / "a.png"], folder) == [(tree / "a.png", folder / "a.png")]
    with pytest.raises(PhotoError, match="unknown output format"):
        plan_outputs([tree / "a.png"], tmp_path / "x.gif")


def test_plan_skips_an_output_folder_inside_the_input(tree):
    out = tree / "coloured"
    (out / "sub").mkdir(parents=True)
    Image.fromarray(gray_image(H, W)).save(out / "a.png")
    pairs = plan_outputs([tree], out, recursive=True)
    assert all(out not in s.parents for s, _ in pairs)
    assert len(pairs) == 5


@pytest.mark.parametrize("inputs, output, recursive", [
    (["a.png"], "a.png", False),  # the file itself
    (["a.png"], ".", False),  # a folder output that holds the input
    (["."], ".", False),  # a folder onto itself
    (["."], ".", True),
    (["a.png", "b.jpg"], ".", False),
])
def test_plan_refuses_to_overwrite_an_input(tree, inputs, output, recursive):
    with pytest.raises(PhotoError, match="would overwrite an input"):
        plan_outputs([tree / i for i in inputs], tree / output, recursive)


def test_plan_into_the_input_folder_under_new_names(tree):
    assert plan_outputs([tree / "c.bmp"], tree) == [(tree / "c.bmp", tree / "c.png")]
    assert rel_pairs(plan_outputs([tree], tree, suffix="webp"), tree, tree) == [
        ("a.png", "a.webp"), ("b.jpg", "b.webp"), ("c.bmp", "c.webp")]


def test_plan_missing_input(tmp_path):
    with pytest.raises(PhotoError, match="no such file") as info:
        plan_outputs([tmp_path / "nope.png"], tmp_path / "out")
    assert str(tmp_path / "nope.png") in str(info.value)


# -- the batch job ------------------------------------------------------------------------------------
def test_batch_reports_bad_files_and_writes_the_rest(colorizer, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    good = []
    for i, (h, w) in enumerate([(40, 56), (33, 71), (64, 48)]):
        path = src / f"good{i}.png"
        Image.fromarray(sample_photo((h, w))).save(path)
        good.append(path)
    kinds = ["zero-byte", "truncated-jpeg", "text-as-jpeg", "bomb", "huge"] + (["unreadable"] if CAN_DENY else [])
    bad = [write_bad_file(src, kind) for kind in kinds]
    before = snapshot(src)
    messages = []
    failures = colorize_photos(colorizer, [src], tmp_path / "out", report=messages.append)
    assert sorted(f for f, _ in failures) == sorted(bad)
    assert len(messages) == len(bad)
    for path, message in failures:
        assert str(path) in message and "\n" not in message
    for path in good:
        assert_colourised(path, tmp_path / "out" / path.name)
    assert files_under(tmp_path / "out") == sorted(p.name for p in good)
    assert snapshot(src) == before


def test_existing_outputs_are_kept_unless_overwrite(colorizer, tmp_path):
    src = tmp_path / "a.png"
    Image.fromarray(sample_photo((H, W))).save(src)
    dst = tmp_path / "out.png"
    dst.write_bytes(b"keep me")
    with pytest.raises(PhotoError, match="already exists") as info:
        colorize_file(colorizer, src, dst)
    assert str(dst) in str(info.value) and dst.read_bytes() == b"keep me"
    colorize_file(colorizer, src, dst, overwrite=True)
    assert_colourised(src, dst)


def test_output_folder_that_cannot_be_made_is_one_failure(colorizer, tree, tmp_path):
    # A file stands where the mirrored sub-folder would go: that photo fails, the rest are written.
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").write_text("in the way")
    messages = []
    failures = colorize_photos(colorizer, [tree], out, recursive=True, report=messages.append)
    assert sorted(str(f.relative_to(tree)) for f, _ in failures) == ["sub/d.tif", "sub/deeper/e.png"]
    assert all("\n" not in m for m in messages) and len(messages) == 2
    assert files_under(out) == ["a.png", "b.jpg", "c.png", "sub"]


def test_no_images_is_an_error(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "readme.txt").write_text("nothing here")
    with pytest.raises(PhotoError, match="no image files"):
        colorize_photos(None, [tmp_path / "in"], tmp_path / "out")
