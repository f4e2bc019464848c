"""Video on a CPU runs the network's encoder and fusion in int8; photos and hinted frames keep the
float network; the loaded model's batch norms are folded into its convolutions."""


import numpy as np
import pytest
import torch
from imgutil import lab

from vidcolor.hints import Hint
from vidcolor.quantize import PARTS, Int8Part, int8_colorizer
from vidcolor.video.pipeline import FrameColorizer
from vidcolor.video.reader import read_frame

pytestmark = pytest.mark.skipif("x86" not in torch.backends.quantized.supported_engines,
                                reason="no x86 quantised kernels")


@pytest.fixture(scope="module")
def film_frame(assets):
    """A frame of the bundled film, which the int8 ranges were not calibrated on."""
    frame = read_frame(assets / "samples" / "chaplin_silent_film.mp4", 2.0)
    return frame if frame.ndim == 2 else frame.mean(axis=2).astype(np.uint8)


def test_the_int8_network_gives_the_float_networks_colour(colorizer, film_frame):
    fast = int8_colorizer(colorizer)
    assert all(isinstance(getattr(fast.model, p), Int8Part) for p in PARTS)
    assert not any(isinstance(getattr(colorizer.model, p), Int8Part) for p in PARTS)  # photos stay float
    L_net = colorizer.network_input(torch.from_numpy(film_frame / 255.0 * 100).float()[None, None])
    exact, quick = colorizer.predict_ab(L_net), fast.predict_ab(L_net)
    # int8 rounds every activation: nearly the same colour on average, and at all but a few pixels
    # (int8 kernels differ between CPUs with and without VNNI, so no bound on the very worst pixel).
    error = (quick - exact).abs()
    assert error.mean() < 0.3 and torch.quantile(error.flatten(), 0.99) < 3, (error.mean(), error.max())
    assert exact.abs().mean() > 3  # a picture with colour, so the comparison means something
    # Quantised once per model: a second copy shares the int8 modules and gives the same colour.
    again = int8_colorizer(colorizer)
    assert again.model.encoder is fast.model.encoder
    assert torch.equal(again.predict_ab(L_net), quick)


def test_video_frames_with_hints_take_the_float_network(colorizer, film_frame):
    hint = Hint(film_frame.shape[1] / 2, film_frame.shape[0] / 2, "#B03A2E")
    frames = [film_frame, film_frame]
    video = FrameColorizer(colorizer, strength=0.0)(frames, hints=[[hint], []])
    photo_hinted = colorizer.colorize_image(film_frame, hints=[hint])
    photo_plain = colorizer.colorize_image(film_frame)
    assert np.abs(video[0].astype(int) - photo_hinted).max() <= 1  # the float network's result
    plain = np.abs(lab(video[1])[..., 1:] - lab(photo_plain)[..., 1:])
    assert 0 < plain.mean() < 0.5  # int8: nearly the same colour, not the very same numbers


def test_a_light_decoder_model_stays_float():
    from vidcolor.engine import Colorizer
    from vidcolor.model import FusionColorizer, ModelConfig

    light = Colorizer(FusionColorizer(ModelConfig(arch="unet", fuse_strides=(4, 8, 16, 32), hints=True)), "cpu")
    assert int8_colorizer(light) is light
