"""Fixtures shared by the engine, model, weights and photo tests (tests/gui has its own)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

RENDER_SIZE = 64  # the engine's smallest render size keeps every colourisation fast


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes a few seconds (deselect with -m 'not slow')")


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    # The test machines are small and shared: one intra-op thread is faster than a spinning pool
    # for the tiny tensors used here, and leaves the other cores to whoever else is working.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def colorizer():
    """The shipped model on the CPU at the smallest render size (loaded once per session)."""
    from vidcolor.engine import Colorizer

    return Colorizer.from_pretrained(device="cpu", size=RENDER_SIZE)


@pytest.fixture(scope="session")
def assets() -> Path:
    from vidcolor.weights import assets_dir

    return assets_dir()


@pytest.fixture
def no_cuda(monkeypatch):
    """Pretend there is no CUDA GPU, whatever the machine has."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
