"""Old-photo degradation of the training input: the pipeline's contract, and each operation alone."""

import pytest
import torch
import torch.nn.functional as F

from vidcolor.color import gray_to_l, rgb_to_l
from vidcolor.train import degrade as D


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def smooth_photos(n: int, h: int = 64, w: int = 64, seed: int = 0) -> torch.Tensor:
    """Smooth random colour fields, standing in for photos."""
    coarse = torch.rand((n, 3, 5, 5), generator=gen(seed))
    return F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=False).clamp(0, 1)


def flat(value: float, n: int = 2, size: int = 32) -> torch.Tensor:
    return torch.full((n, 1, size, size), value)


def per_sample(value: float, n: int = 2) -> torch.Tensor:
    return torch.full((n,), value)


def high_freq_energy(x: torch.Tensor) -> torch.Tensor:
    return x.diff(dim=-1).pow(2).mean() + x.diff(dim=-2).pow(2).mean()


def psnr_l(degraded: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    mse = (degraded - clean).pow(2).mean(dim=(1, 2, 3)).clamp(min=1e-6)
    return 10 * torch.log10(100**2 / mse)


# -- the pipeline ---------------------------------------------------------------------------------
def test_p0_gives_exactly_the_clean_lightness():
    rgb = smooth_photos(4, 32, 40)
    assert torch.equal(D.degrade_l(rgb, gen(), p=0), rgb_to_l(rgb))


def test_samples_not_chosen_keep_the_clean_lightness():
    rgb = smooth_photos(16)
    clean = rgb_to_l(rgb)
    untouched = (D.degrade_l(rgb, gen(3), p=0.5) == clean).flatten(1).all(dim=1)
    assert 0 < untouched.sum() < 16


def test_shape_range_and_dtype_for_sizes_not_multiple_of_8():
    rgb = smooth_photos(6, 50, 70).double()
    out = D.degrade_l(rgb, gen(), p=1)
    assert out.shape == (6, 1, 50, 70) and out.dtype == torch.float32
    assert out.min() >= 0 and out.max() <= 100
    assert not torch.equal(out, rgb_to_l(rgb))


def test_same_seed_same_output_other_seed_differs():
    rgb = smooth_photos(8)
    a, b = D.degrade_l(rgb, gen(7), p=1), D.degrade_l(rgb, gen(7), p=1)
    assert torch.equal(a, b)
    assert not torch.equal(a, D.degrade_l(rgb, gen(8), p=1))


def test_degraded_photos_stay_recognisable():
    rgb = smooth_photos(64)
    clean = rgb_to_l(rgb)
    out = D.degrade_l(rgb, gen(1), p=1)
    psnr = psnr_l(out, clean)
    assert 15 < psnr.mean() < 40
    assert (out.flatten(1).std(dim=1) > 1).all()  # no sample washed out to a constant
    # Still the same picture: lightness follows the clean one closely.
    corr = torch.corrcoef(torch.stack([out.flatten(), clean.flatten()]))[0, 1]
    assert corr > 0.75


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_runs_on_cuda_with_a_cuda_generator():
    rgb = smooth_photos(8).cuda()
    a = D.degrade_l(rgb, torch.Generator(device="cuda").manual_seed(0), p=1)
    b = D.degrade_l(rgb, torch.Generator(device="cuda").manual_seed(0), p=1)
    assert a.is_cuda and a.shape == (8, 1, 64, 64) and torch.equal(a, b)
    assert torch.equal(D.degrade_l(rgb, torch.Generator(device="cuda"), p=0), rgb_to_l(rgb))


# -- each operation ---------------------------------------------------------------------------------
def test_luminance_film_reproduces_rgb_to_l():
    rgb = smooth_photos(3)
    weights = torch.tensor(D.LUMINANCE_WEIGHTS).expand(3, 3)
    assert (gray_to_l(D.film_gray(rgb, weights)) - rgb_to_l(rgb)).abs().max() < 1e-3


def test_orthochromatic_film_is_red_blind_and_blue_sensitive():
    red = torch.zeros(1, 3, 4, 4)
    red[:, 0] = 1
    blue = torch.zeros(1, 3, 4, 4)
    blue[:, 2] = 1
    ortho = torch.tensor([D.ORTHOCHROMATIC_WEIGHTS])
    assert gray_to_l(D.film_gray(red, ortho)).mean() < rgb_to_l(red).mean() - 20
    assert gray_to_l(D.film_gray(blue, ortho)).mean() > rgb_to_l(blue).mean() + 20


def test_tinted_scan_shifts_the_lightness_of_mid_gray_and_white():
    gray = torch.tensor([0.5, 1.0]).view(2, 1, 1, 1).expand(2, 1, 4, 4)
    sepia = torch.tensor([D.SEPIA_TINT, D.SEPIA_TINT])
    out = gray_to_l(D.tinted_scan(gray, sepia))
    before = gray_to_l(gray)
    assert (before - out)[:, :, 0, 0].min() > 2  # both mid gray and paper white come out darker
    neutral = D.tinted_scan(gray, torch.ones(2, 3))
    assert (neutral - gray).abs().max() < 1e-4


def test_tone_lifts_blacks_dulls_whites_and_fades_contrast():
    ramp = torch.linspace(0, 1, 64).view(1, 1, 1, 64).expand(1, 1, 4, 64)
    one = per_sample(1.0, 1)
    lifted = D.adjust_tone(ramp, one, one, per_sample(0.1, 1), per_sample(0.9, 1))
    assert lifted.min() >= 0.1 - 1e-6 and lifted.max() <= 0.9 + 1e-6
    faded = D.adjust_tone(ramp, one, per_sample(0.7, 1), per_sample(0.0, 1), one)
    assert faded.std() < 0.75 * ramp.std()
    harsh = D.adjust_tone(ramp, one, per_sample(1.3, 1), per_sample(0.0, 1), one)
    assert (harsh == 1).sum() > (ramp == 1).sum()  # highlights clipped
    darker = D.adjust_tone(ramp, per_sample(1.3, 1), one, per_sample(0.0, 1), one)
    assert darker[..., 32].mean() < ramp[..., 32].mean()


def test_blur_smooths_a_checkerboard_and_sigma_zero_keeps_it():
    yy, xx = torch.meshgrid(torch.arange(32), torch.arange(32), indexing="ij")
    board = ((yy // 2 + xx // 2) % 2).float().expand(2, 1, 32, 32)
    blurred = D.gaussian_blur(board, torch.tensor([0.0, 1.5]))
    assert torch.allclose(blurred[0], board[0], atol=1e-6)
    assert high_freq_energy(blurred[1]) < 0.3 * high_freq_energy(board[1])
    assert abs(blurred[1].mean() - board[1].mean()) < 0.02  # blur keeps the overall brightness


def test_grain_adds_brightness_dependent_high_frequency_noise():
    noise = torch.randn((2, 1, 32, 32), generator=gen())
    amount = per_sample(0.04)
    for clump in (0.0, 0.8):
        grainy = D.add_grain(flat(0.5), amount, per_sample(clump), noise)
        assert high_freq_energy(grainy) > 1e-4
        assert 0.03 < grainy.std() < 0.05
    mid = D.add_grain(flat(0.5), amount, per_sample(0.0), noise)
    dark = D.add_grain(flat(0.03), amount, per_sample(0.0), noise)
    assert (dark - 0.03).std() < 0.7 * (mid - 0.5).std()
    # Clumped grain is coarser: the same noise strength but less of it from pixel to pixel.
    clumped = D.add_grain(flat(0.5), amount, per_sample(0.8), noise)
    assert high_freq_energy(clumped) < 0.7 * high_freq_energy(mid)


def test_specks_touch_a_few_pixels_bright_and_dark():
    uniform = torch.rand((2, 1, 64, 64), generator=gen())
    out = D.add_specks(flat(0.5, size=64), per_sample(2e-3), per_sample(0.4), per_sample(0.8), uniform)
    change = out - 0.5
    assert change.max() > 0.3 and change.min() < -0.3
    assert (change.abs() > 0.01).float().mean() < 0.1


def test_scratch_is_a_thin_line_over_its_extent():
    args = {k: torch.tensor([[v]]) for k, v in
            dict(x=0.5, slope=0.0, top=0.25, bottom=0.75, width=0.6, strength=0.3).items()}
    out = D.add_scratches(flat(0.5, n=1, size=33), **args)
    change = out[0, 0] - 0.5
    assert (change[10:22, 16] > 0.25).all()  # the line, on column 16, between rows 8 and 24
    assert change[:6].abs().max() < 1e-6 and change[28:].abs().max() < 1e-6
    assert change[:, :12].abs().max() < 1e-3 and change[:, 21:].abs().max() < 1e-3


def test_vignetting_darkens_corners_not_centre():
    out = D.vignette(flat(0.8, n=1, size=33), per_sample(0.3, 1))[0, 0]
    assert abs(out[16, 16] - 0.8) < 1e-3
    for corner in (out[0, 0], out[0, -1], out[-1, 0], out[-1, -1]):
        assert abs(corner - 0.8 * 0.7) < 1e-3


def test_jpeg_tables_follow_the_ijg_scaling():
    tables = D.jpeg_tables(torch.tensor([50.0, 25.0]))
    base = torch.tensor(D.JPEG_LUMA_TABLE, dtype=torch.float32)
    assert torch.equal(tables[0], base)
    assert torch.equal(tables[1], torch.floor((base * 200 + 50) / 100).clamp(1, 255))


def test_jpeg_quantisation_is_small_error_with_block_edges():
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 50), torch.linspace(0, 1, 70), indexing="ij")
    smooth = (0.5 + 0.3 * torch.sin(5 * xx + 3 * yy) + 0.1 * xx).view(1, 1, 50, 70).expand(2, 1, 50, 70)
    out = D.jpeg_quantise(smooth, torch.tensor([20.0, 60.0]))
    assert out.shape == smooth.shape
    err = (out - smooth).abs()
    assert err.max() > 1 / 255  # changed
    assert err.mean() < 0.02 and err[0].mean() > err[1].mean()  # a little, and less at higher quality
    # Steps between blocks (columns 7|8, 15|16, ...) are larger than steps inside them.
    steps = (out[0, 0].diff(dim=1) - smooth[0, 0].diff(dim=1)).abs().mean(dim=0)
    at_edges = torch.arange(steps.shape[0]) % 8 == 7
    assert steps[at_edges].mean() > 2 * steps[~at_edges].mean()
