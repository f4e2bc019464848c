"""Renders that survive a crash.

Frames are encoded in segments of about :data:`SEGMENT_SECONDS`, each written to disk, beside the
output in ``.NAME.vidcolor-resume/``, as it completes; the output is made at the end by muxing the
segments' packets with the input's copied streams, never re-encoding. The same render started
again after a crash (same input file, same model and settings) goes on after the last complete
segment; anything else starts over. A render that ends in any other way (done, cancelled,
failed) removes the folder: only a killed process leaves one, and, when the caller asks for it
(``keep_on_interrupt``, as the command line does), one stopped by Ctrl-C (KeyboardInterrupt).
"""

from __future__ import annotations

import dataclasses
import hashlib
import heapq
import json
import logging
import os
import shutil
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

from .. import __version__
from ..atomic import atomic_output
from ..errors import VideoError
from ..model import trainable_state_dict
from .options import VideoOptions
from .writer import VideoWriter

log = logging.getLogger("vidcolor.video")

SEGMENT_SECONDS = 3.0  # of video: about the most work a crash can lose
STATE_FILE = "state.json"
STATE_FORMAT = 1


def resume_dir(dst: Path) -> Path:
    dst = Path(dst)
    return dst.with_name(f".{dst.stem}.vidcolor-resume")


def interrupted_frames(dst: Path, fingerprint: dict | None = None) -> int:
    """How many frames a render of ``dst`` with ``fingerprint`` (:func:`render_fingerprint`) keeps
    from an interrupted one (0: it starts over); without one, how many a kept render holds."""
    kept = RenderState.load(dst) if fingerprint is None else RenderState.resumable(dst, fingerprint)
    return 0 if kept is None else kept.frames


def discard_interrupted(dst: Path) -> None:
    shutil.rmtree(resume_dir(dst), ignore_errors=True)


def input_identity(src: Path) -> dict:
    """The input file as a kept render or plan knows it: replaced or changed, it is another."""
    st = Path(src).stat()
    return {"path": str(Path(src).resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def render_fingerprint(colorizer, src: Path, options: VideoOptions, hints: list | None = None,
                       references: list | None = None) -> dict:
    """What a render's result depends on: the input file, the model's weights, every setting, the
    colour hints and the reference photos (their pixels and times)."""
    weights = hashlib.sha1()
    for name, tensor in sorted(trainable_state_dict(colorizer.model).items()):
        weights.update(name.encode())
        weights.update(tensor.detach().float().cpu().numpy().tobytes())
    fingerprint = {
        "format": STATE_FORMAT, "vidcolor": __version__, "input": input_identity(src),
        "weights": weights.hexdigest(), "config": dataclasses.asdict(colorizer.model.config),
        "render": dataclasses.asdict(colorizer.settings), "options": dataclasses.asdict(options),
        "device": colorizer.device.type, "hints": [{k: v for k, v in dataclasses.asdict(h).items() if k != "matched"} for h in hints or []],
    }
    if references:  # only then: renders kept before references existed still resume
        fingerprint["references"] = [{"pixels": hashlib.sha1(np.ascontiguousarray(r.rgb).tobytes()).hexdigest(),
                                      "t": r.t} for r in references]
    return json.loads(json.dumps(fingerprint))  # as it reads back from the state file


def _write_synced(path: Path, data: bytes) -> None:
    with atomic_output(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())


class RenderState:
    """The complete segments of one render so far, in ``folder``."""

    def __init__(self, folder: Path, fingerprint: dict, segments: list[dict]):
        self.folder, self.fingerprint, self.segments = folder, fingerprint, segments

    @classmethod
    def begin(cls, dst: Path, fingerprint: dict) -> "RenderState":
        """The interrupted render of ``dst`` with this fingerprint, or a new one."""
        resumed = cls.resumable(dst, fingerprint)
        if resumed is not None:
            return resumed
        folder = resume_dir(dst)
        if cls.load(dst) is not None:
            log.warning("%s: an interrupted render was found, but the input or the settings have changed since: "
                        "starting over", dst)
        elif (folder / STATE_FILE).exists():
            log.warning("%s: an interrupted render was found, but its files are incomplete: starting over", dst)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        state = cls(folder, fingerprint, [])
        state._save()
        return state

    @classmethod
    def resumable(cls, dst: Path, fingerprint: dict) -> "RenderState | None":
        """The kept render of ``dst`` that :meth:`begin` goes on from with this fingerprint, or None."""
        kept = cls.load(dst)
        return kept if kept is not None and kept.fingerprint == fingerprint else None

    @classmethod
    def load(cls, dst: Path) -> "RenderState | None":
        """The kept render of ``dst`` as it is on disk, whatever its settings, for reading only;
        None if there is none or a file it names is missing."""
        folder = resume_dir(dst)
        try:
            saved = json.loads((folder / STATE_FILE).read_text())
            if all((folder / s["file"]).is_file() and (folder / s["index"]).is_file() for s in saved["segments"]):
                return cls(folder, saved["fingerprint"], saved["segments"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return None

    @property
    def frames(self) -> int:
        return sum(s["frames"] for s in self.segments)

    def total(self, key: str) -> int:
        return sum(s[key] for s in self.segments)

    @property
    def last_source_pts(self) -> int | None:
        """The input timestamp of the last frame rendered, or None."""
        return self.segments[-1]["last_source_pts"] if self.segments else None

    @property
    def last_pts(self) -> int | None:
        """The output timestamp of the last frame rendered, or None."""
        return self.segments[-1]["last_pts"] if self.segments else None

    def add(self, record: dict, data: bytes, index: list) -> None:
        """Keep a complete segment: its packets' bytes, their index, then the state naming it."""
        name = f"seg{len(self.segments):05d}"
        record = {**record, "file": f"{name}.bin", "index": f"{name}.json"}
        _write_synced(self.folder / record["file"], data)
        _write_synced(self.folder / record["index"], json.dumps(index).encode())
        self.segments.append(record)
        self._save()

    def _save(self) -> None:
        _write_synced(self.folder / STATE_FILE, json.dumps({"fingerprint": self.fingerprint,
                                                            "segments": self.segments}).encode())

    def extradata(self) -> bytes | None:
        return bytes.fromhex(self.segments[0]["extradata"]) if self.segments else None

    def packets(self) -> Iterator[tuple[bytes, int | None, int | None, bool]]:
        """(data, pts, dts, keyframe) of every video packet, in order."""
        for segment in self.segments:
            data = (self.folder / segment["file"]).read_bytes()
            pos = 0
            for pts, dts, size, key in json.loads((self.folder / segment["index"]).read_text()):
                yield data[pos:pos + size], pts, dts, key
                pos += size

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def end(self, error: BaseException | None, keep_on_interrupt: bool = False) -> bool:
        """The render is over, ended by ``error`` (None: it finished): remove its folder, unless
        ``error`` is a KeyboardInterrupt (Ctrl-C), ``keep_on_interrupt`` is set and a segment is
        complete. Those segments are then kept, as a killed render's are, for the same render to
        resume; cancelling (:class:`~vidcolor.errors.Cancelled`) and errors always remove them.
        Returns whether the folder was kept."""
        if keep_on_interrupt and isinstance(error, KeyboardInterrupt) and self.segments:
            return True
        self.remove()
        return False


class SegmentEncoder:
    """Encodes frames with the output's own encoder settings into segments of about
    :data:`SEGMENT_SECONDS`, each kept in ``state`` once complete (the encode thread's sink)."""

    def __init__(self, writer: VideoWriter, state: RenderState):
        self.writer, self.state = writer, state
        self.cc = None
        self.last_pts = state.last_pts  # output time base
        self.last_source_pts = state.last_source_pts
        self.nudged = 0  # frames put one tick later than their own time

    def write(self, pixels: np.ndarray, pts: int | None, damaged: bool = False, cut: bool = False) -> None:
        """One frame (as the writer's :meth:`~VideoWriter.video_frame` takes it) with its input
        timestamp, and whether it stands in for a damaged picture and starts a shot."""
        w = self.writer
        source_pts = pts
        if pts is None:  # no timestamp: one nominal frame after the previous
            step = max(1, round(1 / (Fraction(w.stream.codec_context.framerate) * w.time_base)))
            pts = 0 if self.last_pts is None else self.last_pts + step
        elif w.time_base != w.src_time_base:
            pts = round(pts * w.src_time_base / w.time_base)
        if self.last_pts is not None and pts <= self.last_pts:
            # Encoders need rising timestamps. Only a broken input gets here (a repeat that would
            # land out of order is never queued, and a constant-rate output is refused up front
            # when frames would share a tick): keep the frame, one tick after the last.
            self.nudged += 1
            pts = self.last_pts + 1
        if self.cc is not None and pts - self.first_pts >= round(SEGMENT_SECONDS / w.time_base):
            self._finish_segment()
        if self.cc is None:
            self.cc, self.first_pts, self.data, self.index = w.new_encoder(), pts, [], []
            self.counts = {"frames": 0, "damaged": 0, "cuts": 0}
        self._keep(self.cc.encode(w.video_frame(pixels, pts)))
        self.counts["frames"] += 1
        self.counts["damaged"] += bool(damaged)
        self.counts["cuts"] += bool(cut)
        self.last_pts = pts
        if source_pts is not None:
            self.last_source_pts = source_pts

    def _keep(self, packets) -> None:
        for p in packets:
            self.data.append(bytes(p))
            self.index.append([p.pts, p.dts, p.size, bool(p.is_keyframe)])

    def _finish_segment(self) -> None:
        self._keep(self.cc.encode(None))
        record = {**self.counts, "first_pts": self.first_pts, "last_pts": self.last_pts,
                  "last_source_pts": self.last_source_pts, "extradata": bytes(self.cc.extradata or b"").hex()}
        self.state.add(record, b"".join(self.data), self.index)
        self.cc = None

    def close(self) -> None:
        if self.cc is not None:
            self._finish_segment()
        if self.nudged:
            log.warning("%s: %d frame(s) of the input had a timestamp no later than the frame before; each "
                        "was put one tick after it", self.writer.name, self.nudged)

    def abort(self) -> None:
        self.cc = None  # an unfinished segment is not kept


class JoinedRenders:
    """The renders of consecutive parts of one video, read as one render's segments (what
    :func:`mux_output` takes), so that parts rendered apart join without re-encoding."""

    def __init__(self, states: list[RenderState]):
        self.states = states

    @property
    def frames(self) -> int:
        return sum(state.frames for state in self.states)

    def total(self, key: str) -> int:
        return sum(state.total(key) for state in self.states)

    def extradata(self) -> bytes | None:
        headers = {s["extradata"] for state in self.states for s in state.segments}
        if len(headers) > 1:
            # Packets are muxed as they are: they must all decode with the output's one header.
            raise VideoError("the parts were encoded with different codec headers (another encoder build "
                             "or settings); they cannot be joined without re-encoding")
        return bytes.fromhex(headers.pop()) if headers else None

    def packets(self) -> Iterator[tuple[bytes, int | None, int | None, bool]]:
        for state in self.states:
            yield from state.packets()


def mux_output(writer: VideoWriter, state: RenderState | JoinedRenders, source) -> None:
    """Write the output: every segment's video packets and the input's copied streams (from the
    open input ``source``), interleaved by time, then close it."""
    writer.start(state.extradata())
    copied = [source.streams[i] for i in writer.passthrough]
    video = ((float((dts if dts is not None else pts) * writer.time_base), 0, (data, pts, dts, key))
             for data, pts, dts, key in state.packets())
    others = ((float(p.dts * p.time_base), 1, p) for p in (source.demux(copied) if copied else ())
              if p.dts is not None and p.size)
    for _, kind, item in heapq.merge(video, others, key=lambda entry: entry[:2]):
        if kind == 0:
            writer.mux_video(*item)
        else:
            writer.mux_copied(item)
    writer.close()
