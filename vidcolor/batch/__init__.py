"""Colourising a collection: photos and videos, files or folders, into an output tree that
mirrors them, in this process or on the workers of a Ray cluster (``vidcolor batch``).

Names load on first use; Ray is imported only when a batch runs on it.
"""

from importlib import import_module

# A batch's defaults, here so that ``vidcolor batch --help`` shows them without importing torch.
DEFAULT_PART_SECONDS = 30.0  # a longer video is split into parts of about this many seconds
DEFAULT_PHOTOS_PER_CALL = 8
DEFAULT_CPUS_PER_WORKER = 2

_HOMES = {
    "run_batch": "run", "BatchEvent": "run", "BatchSummary": "run", "InProcessRunner": "run", "RayRunner": "run",
    "plan_batch": "plan", "BatchPlan": "plan", "Item": "plan",
    "ModelSettings": "work", "WorkSettings": "work", "Worker": "work",
}

__all__ = list(_HOMES)


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
