"""Running a batch: in this process, or on Ray workers (local, or a cluster it joins).

The driver hands units (:mod:`vidcolor.batch.work`) to idle workers, longest work first: each
video is planned by a worker (rendered whole when short, else split into parts that go to
every free worker before any photo does), and a video's parts are joined once all are finished.
Photos go in small batches. A unit whose worker died (its process killed, its node lost) or that
failed unexpectedly is tried again, on another worker where there is one; an item that fails
twice, or whose input is at fault (a damaged file), is reported and the rest goes on. Progress is
counted per attempt, so that a lost attempt's frames are taken back and nothing counts twice.

Ray is imported only here, when a batch is to run on it (or to learn whether it can).
"""

from __future__ import annotations

import itertools
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..devices import accelerated
from ..errors import BatchError
from ..threads import OPENMP_ENV
from . import DEFAULT_CPUS_PER_WORKER
from .plan import PHOTO, VIDEO, BatchPlan, Item, forget_finished, plan_batch
from .work import JOIN, PART, PHOTOS, ModelSettings, ProgressSink, Unit, UnitResult, Worker, WorkSettings
from .work import VIDEO as VIDEO_UNIT

INSTALL_HINT = "pip install 'vidcolor[cluster]'"
NOT_INSTALLED = f"Ray is not installed: {INSTALL_HINT} adds it (or run without --ray, in this process)"
MAX_TRIES = 2  # an item that fails this many times is reported as failed
ACTOR_RESTARTS = 3  # a Ray worker that dies is started again this many times, then dropped


@dataclass
class BatchEvent:
    """What the library reports as a batch goes: ``progress`` (``done`` of ``total`` units: one
    per photo, one per video frame; ``message``: the work that advanced, on ``worker``; ``done``
    falls back when a lost worker's work is taken back), ``start`` (``message``: where it runs),
    ``done`` and ``failed`` (an item, with the error), ``retry`` and ``warning`` (``message``)."""

    kind: str
    done: int = 0
    total: int = 0
    item: Path | None = None
    message: str = ""
    worker: str = ""  # progress: the worker ("pid@host") whose unit advanced


@dataclass
class BatchSummary:
    output: Path
    done: list[Path] = field(default_factory=list)  # inputs finished by this run
    skipped: list[Path] = field(default_factory=list)  # inputs whose output was there already
    failed: list[tuple[Path, str]] = field(default_factory=list)  # inputs and why
    retried: int = 0  # units run again after a lost worker or an unexpected error
    kept_frames: int = 0  # video frames an interrupted earlier run had rendered, not rendered again
    seconds: float = 0.0
    where: str = ""  # "in this process", "on Ray: ..."

    @property
    def ok(self) -> bool:
        return not self.failed


class WorkerLost(Exception):
    """A unit's worker died (or its node was lost) before the unit returned."""


def import_ray():
    """The ``ray`` module, or None when it is not installed."""
    try:
        import ray
    except ImportError:
        return None
    return ray


# -- runners ---------------------------------------------------------------------------------------

class InProcessRunner:
    """One worker in this process; a unit runs when it is submitted."""

    def __init__(self, model: ModelSettings, settings: WorkSettings, note: str = ""):
        self.worker = Worker(model, settings)
        self.name = self.worker.name()
        self.where = "in this process" + (f" ({note})" if note else "")
        self.listener = None  # set by the scheduler: progress goes straight to it
        self.finished: list[tuple[str, UnitResult | Exception]] = []

    @property
    def size(self) -> int:
        return 1

    def workers(self) -> list[str]:
        return [self.name]

    def idle(self) -> list[str]:
        return [self.name]

    def submit(self, worker: str, unit: Unit, key: str) -> None:
        self.finished.append((key, self.worker.run(unit, key, self.listener)))

    def poll(self, timeout: float) -> list[tuple[str, UnitResult | Exception]]:
        finished, self.finished = self.finished, []
        return finished

    def progress(self) -> list[tuple[str, int]]:
        return []

    def close(self) -> None:
        pass


class RayRunner:
    """Ray actors, one model each: GPU workers (one GPU each) when the cluster has GPUs and the
    device allows, else CPU workers of ``cpus_per_worker`` CPUs. ``address``: None starts a Ray
    instance on this machine (unless this process already has one), "auto" or an address joins a
    running cluster."""

    def __init__(self, model: ModelSettings, settings: WorkSettings, address: str | None = None,
                 workers: int | None = None, cpus_per_worker: int = DEFAULT_CPUS_PER_WORKER):
        ray = import_ray()
        if ray is None:
            raise BatchError(NOT_INSTALLED)
        self.ray = ray
        self.started = False
        if not ray.is_initialized():
            try:
                where = {"include_dashboard": False} if address is None else {"address": address}
                ray.init(**where, log_to_driver=False, logging_level=logging.WARNING,
                         runtime_env={"env_vars": dict(OPENMP_ENV)})
            except Exception as e:  # Ray raises ConnectionError, RuntimeError, ValueError ... here
                where = "a Ray instance on this machine" if address is None else f"the Ray cluster at {address}"
                raise BatchError(f"could not start or join {where}: {e}") from None
            self.started = True
        try:
            self._start_workers(model, settings, workers, cpus_per_worker)
        except BaseException:
            self.close()
            raise

    def _start_workers(self, model: ModelSettings, settings: WorkSettings, workers: int | None,
                       cpus_per_worker: int) -> None:
        ray = self.ray
        if cpus_per_worker < 1:
            raise BatchError(f"a worker needs at least 1 CPU, got {cpus_per_worker}")
        resources = ray.cluster_resources()
        cpus, gpus = int(resources.get("CPU", 0)), int(resources.get("GPU", 0))
        if model.device not in (None, "auto") and not accelerated(model.device):
            gpus = 0
        if gpus:
            # One CPU reserved each, so that every GPU gets a worker; decoding and encoding use
            # more, unreserved (Ray does not confine a worker to its share).
            options, count, threads, kind = {"num_gpus": 1, "num_cpus": 1}, workers or gpus, None, "GPU"
            fit = min(gpus, cpus)
        else:
            options, count, threads, kind = {"num_cpus": cpus_per_worker}, workers, cpus_per_worker, "CPU"
            fit = cpus // cpus_per_worker
            count = count or max(1, fit)
        if count < 1:
            raise BatchError(f"at least one worker is needed, got {count}")
        if count > fit:
            raise BatchError(f"the cluster has {cpus} CPU(s) and {gpus} GPU(s): room for {fit} {kind} worker(s) of "
                             f"{options.get('num_gpus', options['num_cpus'])} {kind}(s) each, not {count}")
        actor = ray.remote(max_restarts=ACTOR_RESTARTS, max_task_retries=0, **options)(Worker)
        self.sink = ray.remote(num_cpus=0)(ProgressSink).remote()
        self.actors = {}
        handles = [actor.remote(model, settings, threads) for _ in range(count)]
        try:
            names = ray.get([h.name.remote() for h in handles])
        except ray.exceptions.RayError as e:
            raise BatchError(f"the workers could not start: {_cause(e)}") from None
        self.actors = dict(zip(names, handles))
        self.deaths = dict.fromkeys(names, 0)
        self.inflight: dict = {}  # object ref -> (key, worker)
        self.where = (f"on Ray{' (a local instance)' if self.started else ''}: {count} {kind} worker(s)"
                      + (f" of {cpus_per_worker} CPU(s)" if kind == "CPU" else ""))

    @property
    def size(self) -> int:
        return len(self.actors)

    def workers(self) -> list[str]:
        return list(self.actors)

    def idle(self) -> list[str]:
        busy = {worker for _, worker in self.inflight.values()}
        return [name for name in self.actors if name not in busy]

    def submit(self, worker: str, unit: Unit, key: str) -> None:
        ref = self.actors[worker].run.remote(unit, key, self.sink)
        self.inflight[ref] = (key, worker)

    def poll(self, timeout: float) -> list[tuple[str, UnitResult | Exception]]:
        ray = self.ray
        if not self.inflight:
            return []
        ready, _ = ray.wait(list(self.inflight), num_returns=1, timeout=timeout)
        if ready:  # and whatever else is ready by now
            ready, _ = ray.wait(list(self.inflight), num_returns=len(self.inflight), timeout=0)
        finished = []
        for ref in ready:
            key, worker = self.inflight.pop(ref)
            try:
                finished.append((key, ray.get(ref)))
            except ray.exceptions.RayActorError as e:
                finished.append((key, WorkerLost(f"worker {worker} was lost ({_cause(e)})")))
                unreachable = getattr(ray.exceptions, "ActorUnavailableError", ())
                if isinstance(e, unreachable) and worker in self.actors:
                    # It may still be running the unit: restarted, so that the unit's next attempt
                    # is the only one writing its files.
                    ray.kill(self.actors[worker], no_restart=False)
                self._lost(worker)
            except ray.exceptions.RayError as e:  # the unit's process crashed, or its result was lost
                finished.append((key, WorkerLost(f"worker {worker} failed ({_cause(e)})")))
        return finished

    def _lost(self, worker: str) -> None:
        self.deaths[worker] += 1
        if self.deaths[worker] > ACTOR_RESTARTS:  # Ray gives up on it too: its calls would fail at once
            handle = self.actors.pop(worker)
            self.ray.kill(handle, no_restart=True)

    def progress(self) -> list[tuple[str, int]]:
        return self.ray.get(self.sink.take.remote())

    def close(self) -> None:
        ray = self.ray
        for handle in getattr(self, "actors", {}).values():
            ray.kill(handle, no_restart=True)
        if getattr(self, "sink", None) is not None:
            ray.kill(self.sink)
        if self.started:
            ray.shutdown()


def _cause(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


# -- the driver ------------------------------------------------------------------------------------

@dataclass
class _Attempt:
    unit: Unit
    worker: str
    reported: int = 0  # progress units reported so far


@dataclass
class _Video:
    item: Item
    parts_left: set[int] = field(default_factory=set)
    running: int = 0  # its units out on workers
    counted: int = 0  # progress units its finished units count
    failed: bool = False
    lost: bool = False  # failed because workers died: its finished parts are kept for a re-run


class _Scheduler:
    def __init__(self, plan: BatchPlan, runner, settings: WorkSettings, emit: Callable[[BatchEvent], None],
                 summary: BatchSummary):
        self.runner, self.settings, self.emit, self.summary = runner, settings, emit, summary
        self.total = plan.frames
        self.done = 0
        self.attempts: dict[str, _Attempt] = {}
        self.keys = itertools.count()
        self.videos: dict[Path, _Video] = {}
        self.queue: deque[Unit] = deque()
        photos = []
        for item in plan.items:
            if item.error is not None:
                self._fail(item.src, item.error)
            elif item.kind == VIDEO:
                self.videos[item.src] = _Video(item)
                self.queue.append(Unit(VIDEO_UNIT, item.src, item.dst))
            elif item.kind == PHOTO:
                photos.append((item.src, item.dst))
        per = settings.photos_per_call
        self.queue.extend(Unit(PHOTOS, photos=photos[i:i + per]) for i in range(0, len(photos), per))
        runner.listener = self  # in this process, progress comes straight here

    def run(self) -> None:
        while self.queue or self.attempts:
            if self.runner.size == 0:
                for unit in list(self.queue):
                    self._give_up(unit, "no worker is left: all were lost")
                self.queue.clear()
                if not self.attempts:
                    break
            self._dispatch()
            for key, result in self.runner.poll(0.2):
                self._finished(key, result)
            for key, n in self.runner.progress():
                self.add(key, n)

    # -- progress ----------------------------------------------------------------------------------
    def add(self, key: str, n: int) -> None:
        """``n`` more units done by attempt ``key`` (ignored once the attempt has ended)."""
        attempt = self.attempts.get(key)
        if attempt is None or self._failed_video(attempt.unit):
            return
        attempt.reported += n
        self.done += n
        self.emit(BatchEvent("progress", self.done, self.total, message=attempt.unit.describe(),
                             worker=attempt.worker))

    def _settle(self, attempt: _Attempt, units: int) -> None:
        """The attempt counts ``units`` in the end (those reported are replaced; none for a video
        that has failed: its frames left the total)."""
        video = self.videos.get(attempt.unit.src)
        if video is not None:
            units = 0 if video.failed else units
            video.counted += units
        self.done += units - attempt.reported
        self.emit(BatchEvent("progress", self.done, self.total, worker=attempt.worker))

    # -- dispatch ----------------------------------------------------------------------------------
    def _dispatch(self) -> None:
        idle = self.runner.idle()
        held = []
        while self.queue and idle:
            unit = self.queue.popleft()
            others = [w for w in idle if w not in unit.avoid]
            if not others:
                if unit.avoid.issuperset(self.runner.workers()):
                    others = idle  # it failed on every worker there is: any will do
                else:
                    held.append(unit)  # wait for a worker it has not failed on
                    continue
            worker = others[0]
            idle.remove(worker)
            key = f"{next(self.keys)}"
            self.attempts[key] = _Attempt(unit, worker)
            if unit.src in self.videos:
                self.videos[unit.src].running += 1
            self.runner.submit(worker, unit, key)
        self.queue.extendleft(reversed(held))

    # -- results -----------------------------------------------------------------------------------
    def _finished(self, key: str, result: UnitResult | Exception) -> None:
        attempt = self.attempts.pop(key)
        unit = attempt.unit
        video = self.videos.get(unit.src) if unit.src is not None else None
        if video is not None:
            video.running -= 1
            if video.failed:  # another of its units failed for good: this one's result is of no use
                self._clean(video)
                return
        if isinstance(result, Exception):
            self.done -= attempt.reported
            self.emit(BatchEvent("progress", self.done, self.total, worker=attempt.worker))
            self._retry(unit, attempt.worker, str(result), lost=True)
            return
        for message in result.warnings:
            self.emit(BatchEvent("warning", message=message))
        if unit.kind == PHOTOS:
            again = [outcome.error is not None and not outcome.permanent and unit.tries + 1 < MAX_TRIES
                     for outcome in result.outcomes]
            self._settle(attempt, result.units - sum(again))  # those tried again count when they end
            for outcome, (src, dst), retry in zip(result.outcomes, unit.photos, again):
                if outcome.error is None:
                    self._done(src)
                elif not retry:
                    self._fail(src, outcome.error)
                else:
                    self._retry(Unit(PHOTOS, photos=[(src, dst)], tries=unit.tries, avoid=set(unit.avoid)),
                                attempt.worker, outcome.error)
            return
        failure = next((o for o in result.outcomes if o.error is not None), None)
        # A failed unit's frames are taken back: tried again, they count when that attempt ends.
        self._settle(attempt, 0 if failure is not None else result.units)
        self.summary.kept_frames += 0 if failure is not None else result.kept
        if failure is not None:
            if failure.permanent:
                self._give_up(unit, failure.error)
            else:
                self._retry(unit, attempt.worker, failure.error)
        elif unit.kind == VIDEO_UNIT and result.parts:
            self.total += result.frames - video.item.frames
            video.item.frames = result.frames
            video.parts_left = set(range(result.parts))
            # Parts first: a film's parts spread over every free worker before photos take them.
            self.queue.extendleft(reversed([Unit(PART, unit.src, unit.dst, k, result.parts)
                                            for k in range(result.parts)]))
        elif unit.kind == PART:
            video.parts_left.discard(unit.part)
            if not video.parts_left:
                self.queue.appendleft(Unit(JOIN, unit.src, unit.dst))
        else:  # rendered whole, or joined
            if unit.kind == VIDEO_UNIT:
                self.total += result.frames - video.item.frames
                self.emit(BatchEvent("progress", self.done, self.total))
            self._done(unit.src)

    def _retry(self, unit: Unit, worker: str, error: str, lost: bool = False) -> None:
        unit.tries += 1
        unit.avoid.add(worker)
        if unit.kind == PHOTOS and len(unit.photos) > 1:
            # Tried again one by one, so that a photo that takes its worker down fails alone (those
            # written before the loss are found written, and counted again, as their count was
            # taken back).
            self.queue.extendleft(reversed([Unit(PHOTOS, photos=[pair], tries=unit.tries, avoid=set(unit.avoid))
                                            for pair in unit.photos]))
            self.summary.retried += 1
            self.emit(BatchEvent("retry", message=f"{_about(unit, error)}; trying again"))
            return
        if unit.tries >= MAX_TRIES:
            if unit.src in self.videos:
                self.videos[unit.src].lost = lost
            self._give_up(unit, f"{error} (failed {unit.tries} times)")
            return
        self.summary.retried += 1
        self.emit(BatchEvent("retry", message=f"{_about(unit, error)}; trying again"
                             + (" on another worker" if self.runner.size > 1 else "")))
        self.queue.appendleft(unit)

    def _give_up(self, unit: Unit, error: str) -> None:
        if unit.kind == PHOTOS:
            for src, _ in unit.photos:
                self._fail(src, error)
            return
        video = self.videos[unit.src]
        if video.failed:
            return
        video.failed = True
        # Its frames leave the progress: what is left to do no longer includes them.
        self.total -= video.item.frames
        self.done -= video.counted + sum(a.reported for a in self.attempts.values() if a.unit.src == unit.src)
        for attempt in self.attempts.values():
            if attempt.unit.src == unit.src:
                attempt.reported = 0
        self.emit(BatchEvent("progress", self.done, self.total))
        # The video's other units are dropped; those out on workers are left to finish.
        self.queue = deque(u for u in self.queue if u.src != unit.src)
        self._fail(unit.src, error)
        self._clean(video)

    def _clean(self, video: _Video) -> None:
        """Once a failed video has no unit out, remove its parts, unless it failed because its
        workers died: then a re-run goes on from them, as after a kill."""
        if video.running == 0 and not video.lost:
            from ..video.parts import discard_parts

            discard_parts(video.item.dst)

    def _failed_video(self, unit: Unit) -> bool:
        video = self.videos.get(unit.src) if unit.src is not None else None
        return video is not None and video.failed

    def _done(self, src: Path) -> None:
        self.summary.done.append(src)
        self.emit(BatchEvent("done", self.done, self.total, item=src))

    def _fail(self, src: Path, error: str) -> None:
        self.summary.failed.append((src, error))
        self.emit(BatchEvent("failed", self.done, self.total, item=src, message=error))


def _about(unit: Unit, error: str) -> str:
    """``error`` (which may name the unit's file already) as said of ``unit``."""
    src = str(unit.src if unit.src is not None else unit.photos[0][0])
    if error.startswith(f"{src}: "):
        error = error[len(src) + 2:]
    return f"{unit.describe()}: {error}"


# -- entry point -----------------------------------------------------------------------------------

def run_batch(sources: list[Path], output: Path, model: ModelSettings | None = None,
              settings: WorkSettings | None = None, ray: str | None = None, in_process: bool = False,
              workers: int | None = None, cpus_per_worker: int = DEFAULT_CPUS_PER_WORKER,
              photo_format: str | None = None,
              on_event: Callable[[BatchEvent], None] | None = None) -> BatchSummary:
    """Colourise every photo and video of ``sources`` into the folder ``output``.

    Where: ``ray`` "auto" or an address joins that Ray cluster; otherwise a Ray instance on this
    machine when Ray is installed (or the one this process already runs), else (or with
    ``in_process``) this process. Items whose output exists are skipped. ``on_event`` gets a
    :class:`BatchEvent` for progress, each finished or failed item, each retry and each warning;
    nothing is printed. Raises :class:`BatchError` when the batch cannot start (nothing to do is
    not an error: the summary says so)."""
    t0 = time.perf_counter()
    emit = on_event or (lambda event: None)
    model = model or ModelSettings()
    settings = (settings or WorkSettings()).validate()
    if in_process and ray is not None:
        raise BatchError("in this process or on a Ray cluster: choose one")
    if workers is not None and workers < 1:
        raise BatchError(f"at least one worker is needed, got {workers}")
    local = ray is None and (in_process or import_ray() is None)  # in process: Ray is not even imported
    if ray is not None and import_ray() is None:  # said before anything is planned or written
        raise BatchError(NOT_INSTALLED)
    created = not Path(output).exists()
    plan = plan_batch(sources, output, photo_format)
    summary = BatchSummary(plan.output, skipped=[item.src for item in plan.skipped])
    forget_finished(plan)
    if not plan.items:
        summary.where = "nothing to do"
        return summary
    try:
        if local:
            runner = InProcessRunner(model, settings, "" if in_process else f"Ray is not installed: {INSTALL_HINT} "
                                                                              "uses every core")
        else:
            runner = RayRunner(model, settings, ray, workers, cpus_per_worker)
    except BaseException:
        if created and not any(plan.output.iterdir()):
            plan.output.rmdir()  # nothing was done: nothing is left
        raise
    summary.where = runner.where
    try:
        emit(BatchEvent("start", 0, plan.frames, message=runner.where))
        _Scheduler(plan, runner, settings, emit, summary).run()
    finally:
        runner.close()
    summary.seconds = time.perf_counter() - t0
    return summary
