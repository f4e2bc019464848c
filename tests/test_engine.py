"""The engine: exact size, dtype and lightness in; colour from the network, smoothly upsampled."""

import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from imgutil import assert_coloured, gray_image, lab, lightness, rgb_image, sample_photo

from vidcolor import engine, join
from vidcolor.engine import Colorizer, RenderSettings, image_to_l, network_shape, select_device
from vidcolor.settings import MAX_SIZE, MIN_SIZE


@pytest.fixture
def settings(colorizer, monkeypatch):
    """Change the shared colorizer's render settings for one test (restored afterwards)."""
    def change(**values):
        base = colorizer.settings.__dict__ | values
        monkeypatch.setattr(colorizer, "settings", RenderSettings(**base).validate())

    return change


# -- size, dtype, lightness ---------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_gray_input_keeps_size_dtype_and_lightness(colorizer, dtype):
    image = gray_image(72, 100, dtype)
    before = image.copy()
    out = colorizer.colorize_image(image)
    assert out.shape == (72, 100, 3) and out.dtype == dtype
    np.testing.assert_array_equal(image, before)  # the input is not touched
    if dtype in (np.float32, np.float64):
        assert out.min() >= 0 and out.max() <= 1
    dl = np.abs(lightness(out) - lightness(image))
    assert dl.mean() < (1.0 if dtype == np.uint8 else 0.1), dl.mean()
    assert_coloured(out, image)  # and it is coloured


def test_single_channel_3d_input(colorizer):
    image = gray_image(40, 48)
    out = colorizer.colorize_image(image[..., None])
    np.testing.assert_array_equal(out, colorizer.colorize_image(image))


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_rgb_input_uses_its_luminance(colorizer, dtype):
    image = rgb_image(64, 80, dtype)
    out = colorizer.colorize_image(image)
    assert out.shape == image.shape and out.dtype == dtype
    assert np.abs(lightness(out) - lightness(image)).mean() < 1.0
    assert_coloured(out)  # new colour, not the input's nor none (that would pass the comparison below)
    # Only the luminance matters: a gray image of the same lightness gets the same colours. In
    # float it is the same lightness exactly, so the same output. 8-bit gray can only approximate
    # it, within half a level, and the network answers that with a slightly different colour (more
    # in fp32 than in bf16); what leaked chroma would do is colour the output like the input,
    # a difference of the order of the colour itself.
    gray_out = lab(colorizer.colorize_image(l_to_gray_image(lightness(image), dtype)))
    if dtype != np.uint8:
        np.testing.assert_allclose(gray_out, lab(out), atol=1e-3)
        return
    assert np.abs(gray_out[..., 0] - lab(out)[..., 0]).mean() < 1.0
    ab_diff = np.linalg.norm(gray_out[..., 1:] - lab(out)[..., 1:], axis=-1).mean()
    chroma = np.linalg.norm(lab(out)[..., 1:], axis=-1).mean()
    assert ab_diff < 0.2 * chroma, (ab_diff, chroma)


def l_to_gray_image(L: np.ndarray, dtype) -> np.ndarray:
    from vidcolor.color import l_to_gray

    gray = l_to_gray(torch.from_numpy(L).float()[None]).numpy()[0]
    return (gray * 255 + 0.5).astype(np.uint8) if dtype == np.uint8 else gray.astype(dtype)


def test_image_to_l_matches_scikit_image():
    for image in (gray_image(16, 24), gray_image(16, 24, np.uint16), gray_image(16, 24, np.float32),
                  rgb_image(16, 24), rgb_image(16, 24, np.uint16)):
        L = image_to_l(image)
        assert L.shape == (1, 16, 24) and L.dtype == torch.float32
        np.testing.assert_allclose(L[0].numpy(), lightness(image), atol=0.01)


@pytest.mark.parametrize("h, w", [(8, 8), (17, 300), (300, 17), (61, 83), (99, 101), (8, 513), (127, 9)])
def test_any_size_and_aspect_works(colorizer, h, w):
    image = sample_photo((h, w))
    out = colorizer.colorize_image(image)
    assert out.shape == (h, w, 3)
    assert np.abs(lightness(out) - lightness(image)).mean() < 1.0
    assert_coloured(out, image, min_chroma=2.0)  # (a photo squeezed to 8 x 513 gets little colour)


def test_a_real_photo_keeps_its_lightness_and_gets_colour(colorizer):
    image = sample_photo()  # a whole black-and-white photo, 513 x 640 pixels
    out = colorizer.colorize_image(image)
    assert out.shape == image.shape + (3,) and out.dtype == np.uint8
    assert np.abs(lightness(out) - lightness(image)).mean() < 1.0
    assert_coloured(out, image, min_chroma=8.0)


@pytest.mark.parametrize("h, w", [(100, 100), (17, 300), (300, 17), (480, 640), (1080, 1920), (7, 4000), (61, 83)])
@pytest.mark.parametrize("size", [MIN_SIZE, 224, MAX_SIZE])
def test_network_shape_keeps_aspect_in_multiples_of_8(h, w, size):
    nh, nw = network_shape(h, w, size)
    assert nh % 8 == 0 and nw % 8 == 0 and nh >= 8 and nw >= 8
    scale = size / np.sqrt(h * w)
    # Each side is the exactly scaled side rounded to the nearest multiple of 8 (at least 8).
    assert abs(nh - max(8, h * scale)) <= 4 and abs(nw - max(8, w * scale)) <= 4
    if min(h, w) * scale >= 8:
        assert abs(nh * nw / size**2 - 1) < 0.25


def test_render_size_sets_the_network_input(colorizer, settings):
    L = image_to_l(gray_image(120, 180))[None]
    assert colorizer.network_input(L).shape[-2:] == network_shape(120, 180, colorizer.settings.size)
    settings(size=128)
    assert colorizer.network_input(L).shape[-2:] == (104, 160)
    assert colorizer.colorize_image(gray_image(120, 180)).shape == (120, 180, 3)


# -- colour -------------------------------------------------------------------------------------------
def test_intensity_zero_is_gray(colorizer, settings):
    settings(intensity=0.0)
    for dtype in (np.uint8, np.float32):
        out = colorizer.colorize_image(gray_image(64, 80, dtype))
        ab = lab(out)[..., 1:]
        assert np.abs(ab).max() < 0.5
        spread = out.max(axis=2).astype(np.float64) - out.min(axis=2)
        assert spread.max() <= (1 if dtype == np.uint8 else 1e-4)


def test_intensity_scales_chroma(colorizer, settings):
    image = gray_image(64, 80, np.float32)
    chroma = {}
    for k in (0.5, 1.0, 2.0):
        settings(intensity=k)
        chroma[k] = np.hypot(*np.moveaxis(lab(colorizer.colorize_image(image))[..., 1:], 2, 0)).mean()
    assert chroma[0.5] < chroma[1.0] < chroma[2.0]
    assert chroma[0.5] == pytest.approx(chroma[1.0] / 2, rel=0.1)


def test_batch_equals_single(colorizer):
    images = [gray_image(72, 100, seed=3), gray_image(50, 60, seed=4), gray_image(72, 100, seed=5),
              rgb_image(72, 100), gray_image(72, 100, np.uint16, seed=6)]
    batch = colorizer.colorize_batch(images)
    assert len(batch) == len(images)
    for image, out in zip(images, batch):
        single = colorizer.colorize_image(image)
        assert out.shape == single.shape and out.dtype == single.dtype
        # The same work in another batch: only the last bits of the network's sums may differ (how
        # oneDNN splits a batch depends on the CPU), which a sharp annealed mean can turn into a level
        # or two at a few pixels; a mixed-up image would differ everywhere.
        level = 1 if out.dtype == np.uint8 else 257
        diff = np.abs(out.astype(np.int64) - single.astype(np.int64)) / level
        assert diff.mean() < 0.1 and np.quantile(diff, 0.999) <= 2, (diff.mean(), diff.max())


def test_chroma_is_upsampled_bilinearly_not_in_blocks(colorizer):
    # 512x512 at render size 64: a*b* come out at 32x32 and are scaled up 16 times. Bilinear
    # upsampling follows the network's values closely; nearest-neighbour would leave 16x16 blocks.
    image = gray_image(512, 512, np.float32)
    L = image_to_l(image)[None]
    ab_small = colorizer.predict_ab(colorizer.network_input(L)).float()
    assert ab_small.shape[-2:] == (32, 32)
    out_ab = torch.from_numpy(lab(colorizer.colorize_image(image))[..., 1:]).permute(2, 0, 1).float()
    bilinear = F.interpolate(ab_small, size=(512, 512), mode="bilinear", align_corners=False)[0]
    nearest = F.interpolate(ab_small, size=(512, 512), mode="nearest")[0]
    err_bilinear = (out_ab - bilinear).abs().mean()
    err_nearest = (out_ab - nearest).abs().mean()
    assert err_bilinear < 0.5, err_bilinear
    assert err_nearest > 3 * err_bilinear
    # And no block structure: neighbours inside a 16x16 cell differ about as much as across cells.
    step = (out_ab[:, :, 1:] - out_ab[:, :, :-1]).abs().mean(0)
    across = step[:, 15::16].mean()
    within = step[:, [c for c in range(511) if c % 16 != 15]].mean()
    assert within > 0.25 * across


@pytest.mark.parametrize("blend", [None, 1.0])
def test_network_output_has_no_2x2_blocks(colorizer, settings, blend):
    # The half-size a*b* must not be the classifier's quarter-size map repeated 2x2 (blend 1:
    # the classifier alone).
    settings(blend=blend)
    L = colorizer.network_input(image_to_l(gray_image(96, 128, np.float32))[None])
    ab = colorizer.predict_ab(L).float()[0]
    h, w = ab.shape[-2:]
    blocks = ab.reshape(2, h // 2, 2, w // 2, 2).permute(0, 1, 3, 2, 4).reshape(2, -1, 4)
    constant = (blocks.max(-1).values - blocks.min(-1).values < 1e-3).all(0)
    assert constant.float().mean() < 0.05


def test_cancel_stops_a_large_image_between_strips(colorizer, monkeypatch):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(engine.Cancelled):
        colorizer.colorize_image(gray_image(64, 96), cancel=cancel)

    cancel.clear()
    strips = []
    convert = join.lab_to_rgb_cpu

    def convert_then_cancel(lab_strip):
        strips.append(len(lab_strip))
        cancel.set()
        return convert(lab_strip)

    monkeypatch.setattr(join, "STRIP_PIXELS", 96 * 8)  # 8 strips of 8 rows
    monkeypatch.setattr(join, "lab_to_rgb_cpu", convert_then_cancel)
    with pytest.raises(engine.Cancelled):
        colorizer.colorize_image(gray_image(64, 96), cancel=cancel)
    assert strips == [8]  # stopped after the first strip, not at the end


def test_embed_and_predict_shapes(colorizer):
    L = colorizer.network_input(image_to_l(gray_image(64, 96))[None])
    e = colorizer.embed(L)
    assert e.shape == (1, colorizer.model.config.backbone_classes) and e.dtype == torch.float32
    ab = colorizer.predict_ab(L, e)
    assert ab.shape == (1, 2, L.shape[-2] // 2, L.shape[-1] // 2)
    assert ab.abs().max() <= 110
    torch.testing.assert_close(ab, colorizer.predict_ab(L), atol=1e-3, rtol=0)


# -- refusals ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(7, 100), (100, 7), (3, 5), (1, 1), (4, 4, 3)])
def test_tiny_images_get_colour_at_their_own_size(colorizer, shape):
    """Any image of at least one pixel is valid: the network sees it enlarged, the output keeps its size."""
    rng = np.random.default_rng(0)
    image = (rng.random(shape) * 80 + 100).astype(np.uint8)  # mid grays, where colour can show
    out = colorizer.colorize_image(image)
    assert out.shape == shape[:2] + (3,) and out.dtype == np.uint8
    ours = lab(out)
    assert np.abs(ours[..., 0] - lightness(image)).max() < 1.5  # its own lightness
    assert np.abs(ours[..., 1:]).mean() > 1  # and colour


@pytest.mark.parametrize("shape", [(0, 5), (5, 0)])
def test_images_without_pixels_are_refused(colorizer, shape):
    with pytest.raises(ValueError, match="no pixels"):
        colorizer.colorize_image(np.zeros(shape, np.uint8))


@pytest.mark.parametrize("image, error", [
    (np.zeros((16, 16, 4), np.uint8), ValueError),
    (np.zeros((16, 16, 2), np.uint8), ValueError),
    (np.zeros((2, 16, 16, 3), np.uint8), ValueError),
    (np.zeros((16, 16), np.int32), ValueError),
    (np.zeros((16, 16), bool), ValueError),
    ([[0] * 16] * 16, TypeError),
])
def test_bad_images_are_refused(colorizer, image, error):
    with pytest.raises(error):
        colorizer.colorize_image(image)


def test_cuda_without_a_gpu_is_a_clear_error(colorizer, no_cuda):
    for device in ("cuda", "cuda:1", torch.device("cuda")):
        with pytest.raises(RuntimeError, match="CUDA") as info:
            select_device(device)
        assert "--device cpu" in str(info.value)
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        Colorizer(colorizer.model, device="cuda")
    assert select_device("auto").type == "cpu" and select_device(None).type == "cpu"


@pytest.mark.parametrize("values", [{"size": MIN_SIZE - 1}, {"size": MAX_SIZE + 1}, {"intensity": -0.1},
                                    {"intensity": 3.5}, {"temperature": 0}, {"temperature": -1},
                                    {"blend": -0.1}, {"blend": 1.5}])
def test_render_settings_are_checked(values):
    with pytest.raises(ValueError):
        RenderSettings(**values).validate()


def test_colorizer_checks_its_settings(colorizer):
    with pytest.raises(ValueError, match="render size"):
        Colorizer(colorizer.model, "cpu", RenderSettings(size=16))
    with pytest.raises(ValueError, match="intensity"):
        Colorizer.from_pretrained(device="cpu", intensity=5)
