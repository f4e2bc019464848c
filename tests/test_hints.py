"""Simulated colour hints for training: how many, where, and what colour they carry."""

import torch

from vidcolor.train.hints import MAX_POINTS, simulate_hints


def test_hints_carry_the_truths_patch_mean_and_nothing_elsewhere():
    ab = torch.zeros(64, 2, 48, 48)
    ab[:, 0, :, :24], ab[:, 1, :, :24] = 40.0, -20.0  # left half one colour, right half gray
    hints = simulate_hints(ab, torch.Generator().manual_seed(0), no_hint_share=0.0)
    mask = hints[:, 2] > 0
    assert mask.any(dim=(1, 2)).all()  # every photo got at least one
    assert torch.equal(hints[:, :2] * ~mask[:, None], torch.zeros_like(hints[:, :2]))
    # Far from the colour edge, a hint is exactly the colour under it.
    left, right = mask.clone(), mask.clone()
    left[..., 16:], right[..., :32] = False, False  # patches are at most 9 wide
    assert torch.allclose(hints[:, 0][left], torch.tensor(40.0)) and torch.allclose(hints[:, 1][left], torch.tensor(-20.0))
    assert torch.allclose(hints[:, :2].permute(1, 0, 2, 3)[:, right], torch.tensor(0.0))


def test_hint_counts_patches_and_the_share_without_hints():
    ab = torch.randn(2000, 2, 32, 32) * 10
    hints = simulate_hints(ab, torch.Generator().manual_seed(1))
    covered = hints[:, 2].sum((1, 2))
    none = (covered == 0).float().mean()
    assert 0.45 < none < 0.55
    hinted = covered[covered > 0]
    assert hinted.min() >= 1 and hinted.max() <= MAX_POINTS * 81
    assert 8 < hinted.float().mean() < 250  # about 8 patches of 1x1 to 9x9 (mean area 25), some overlapping


def test_hints_are_reproducible():
    ab = torch.randn(8, 2, 24, 24) * 10
    a = simulate_hints(ab, torch.Generator().manual_seed(5))
    b = simulate_hints(ab, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


def test_a_hint_is_the_mean_of_the_truth_over_its_own_patch():
    """Each patch carries the truth's mean over exactly the pixels it covers (clipped at the border)."""
    ab = torch.randn(300, 2, 20, 20, generator=torch.Generator().manual_seed(2)) * 20
    hints = simulate_hints(ab, torch.Generator().manual_seed(3), no_hint_share=0.0)
    checked = 0
    for i in range(len(ab)):
        mask = hints[i, 2] > 0
        ys, xs = mask.nonzero(as_tuple=True)
        box = (slice(int(ys.min()), int(ys.max()) + 1), slice(int(xs.min()), int(xs.max()) + 1))
        values = hints[i, :2][:, mask]
        single = mask[box].all() and (values - values[:, :1]).abs().max() < 1e-4
        if not single:
            continue  # several patches: their overlaps average colours
        assert torch.allclose(values[:, 0], ab[i][:, box[0], box[1]].mean((1, 2)), atol=1e-3)
        checked += 1
    assert checked > 20
