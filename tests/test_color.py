import numpy as np
import pytest
import torch
from skimage import color as skcolor

from vidcolor.color import l_to_gray, lab_to_rgb, rgb_to_l, rgb_to_lab


@pytest.fixture
def rgb_grid():
    """Every corner and a dense sample of the sRGB cube, as a (3, N, 1) 'image'."""
    g = torch.linspace(0, 1, 17, dtype=torch.float64)
    cube = torch.stack(torch.meshgrid(g, g, g, indexing="ij")).reshape(3, -1, 1)
    rand = torch.rand(3, 2000, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    return torch.cat((cube, rand), dim=1)


def test_rgb_to_lab_matches_scikit_image(rgb_grid):
    ours = rgb_to_lab(rgb_grid.float()).double()
    ref = skcolor.rgb2lab(rgb_grid.permute(1, 2, 0).numpy(), illuminant="D65", observer="2")
    assert (ours.permute(1, 2, 0).numpy() - ref).__abs__().max() < 0.01


def test_lab_to_rgb_matches_scikit_image(rgb_grid):
    lab = torch.from_numpy(skcolor.rgb2lab(rgb_grid.permute(1, 2, 0).numpy())).permute(2, 0, 1)
    ours = lab_to_rgb(lab.float()).double().permute(1, 2, 0).numpy()
    ref = skcolor.lab2rgb(lab.permute(1, 2, 0).numpy())
    assert np.abs(ours - ref).max() < 2e-3  # half of one 8-bit level


def test_round_trip_is_exact_within_float_precision(rgb_grid):
    x = rgb_grid.float()
    assert (lab_to_rgb(rgb_to_lab(x)) - x).abs().max() < 1e-3


def test_grey_has_zero_chroma():
    g = torch.linspace(0, 1, 256).view(1, 1, 256).expand(3, 1, 256)
    lab = rgb_to_lab(g)
    assert lab[1:].abs().max() < 1e-4
    assert lab[0].min() >= -1e-4 and lab[0].max() <= 100 + 1e-3


def test_batched_shapes_and_l_helpers():
    x = torch.rand(2, 4, 3, 5, 7)
    lab = rgb_to_lab(x)
    assert lab.shape == x.shape
    assert torch.allclose(rgb_to_l(x), lab[..., :1, :, :], atol=1e-4)
    gray = l_to_gray(lab[..., :1, :, :])
    assert torch.allclose(rgb_to_l(gray.expand_as(x)), lab[..., :1, :, :], atol=1e-3)
    with pytest.raises(ValueError):
        rgb_to_lab(torch.rand(2, 4, 4))


def test_gradients_are_finite_even_at_black_and_white():
    x = torch.tensor([0.0, 1e-8, 0.04045, 0.5, 1.0]).view(1, 1, 5).expand(3, 1, 5).clone().requires_grad_(True)
    rgb_to_lab(x).sum().backward()
    assert torch.isfinite(x.grad).all()
    lab = torch.tensor([[0.0, 50.0, 100.0], [0.0, 80.0, -80.0], [0.0, -100.0, 100.0]]).view(3, 1, 3)
    lab.requires_grad_(True)
    lab_to_rgb(lab, clip=False).sum().backward()
    assert torch.isfinite(lab.grad).all()
