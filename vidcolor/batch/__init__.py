"""Colourising a collection: photos and videos, files or folders, into an output tree that
mirrors them, in this process or on the workers of a Ray cluster (``vidcolor batch``).

The package itself holds only a batch's defaults, so that ``vidcolor batch --help`` shows them
without importing torch; the work is in its modules: :func:`~vidcolor.batch.run.run_batch` (and
its runners) in ``run``, :func:`~vidcolor.batch.plan.plan_batch` in ``plan``, the settings and the
worker in ``work``. Ray is imported only when a batch runs on it.
"""

DEFAULT_PART_SECONDS = 30.0  # a longer video is split into parts of about this many seconds
DEFAULT_PHOTOS_PER_CALL = 8
DEFAULT_CPUS_PER_WORKER = 2
