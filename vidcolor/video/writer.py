"""Writing the colourised video: encoder choice, timing, metadata, and remuxed audio/subtitles.

The output keeps the input's time base and every frame's timestamp (so variable frame rate
survives and 30000/1001 stays 30000/1001), its display rotation, container and stream metadata
and chapters; audio (and subtitles, data streams and attachments, where the container can hold
them) are copied packet for packet, never re-encoded, with their language, title and flags.
"""

from __future__ import annotations

import io
import logging
import queue
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..errors import VideoError
from .options import VideoOptions
from .reader import VideoInfo, join_or_report, open_input

log = logging.getLogger("vidcolor.video")

AVFMT_VARIABLE_FPS = 0x0400  # the container stores per-frame timestamps (MP4, MKV, MOV; not AVI)
DEFAULT_CODECS = {".mp4": "libx264", ".m4v": "libx264", ".mov": "libx264", ".mkv": "libx264",
                  ".avi": "mpeg4", ".webm": "libvpx-vp9"}
CRF_CODECS = {"libx264", "libx265", "libvpx-vp9", "libsvtav1", "libaom-av1"}
PRESET_CODECS = {"libx264", "libx265"}


def output_codec(dst: Path, options: VideoOptions) -> str:
    codec = options.codec or DEFAULT_CODECS.get(dst.suffix.lower())
    if codec is None:
        raise VideoError(f"{dst}: unknown video container (use {', '.join(sorted(DEFAULT_CODECS))})")
    if codec not in av.codecs_available:
        raise VideoError(f"codec {codec!r} is not available in this FFmpeg build")
    return codec


# Luma coefficients (Kr, Kb) of the two matrices in use: HD (BT.709) and SD (BT.601).
LUMA_COEFFICIENTS = {"bt709": (0.2126, 0.0722), "bt601": (0.299, 0.114)}
# Each matrix's name for PyAV's reformat and its tag in the file (AVCOL_SPC_BT709 / AVCOL_SPC_SMPTE170M).
MATRIX_TAGS = {"bt709": ("ITU709", 1), "bt601": ("ITU601", 6)}
HD_LINES = 720  # a video this many lines tall or more is HD


def colour_matrix(height: int) -> str:
    """The colour matrix of a video ``height`` lines tall: HD and larger is BT.709 by convention,
    smaller BT.601."""
    return "bt709" if height >= HD_LINES else "bt601"


def yuv_matrix(matrix: str) -> np.ndarray:
    """3x4 float32 affine map from sRGB in [0, 1] to video-range Y, Cb, Cr; the offsets carry +0.5
    so that truncating to uint8 rounds."""
    kr, kb = LUMA_COEFFICIENTS[matrix]
    luma = np.array([kr, 1 - kr - kb, kb])
    red, blue = np.eye(3)[0], np.eye(3)[2]
    rows = [219 * luma, 224 * (blue - luma) / (2 * (1 - kb)), 224 * (red - luma) / (2 * (1 - kr))]
    return np.hstack((rows, [[16.5], [128.5], [128.5]])).astype(np.float32)


def rgb_to_yuv420p(rgb: torch.Tensor, matrix: str) -> torch.Tensor:
    """sRGB ``(B, 3, H, W)`` in [0, 1] -> video-range yuv420p ``(B, H * 3 // 2, W)`` uint8, where
    the frames are (the GPU, when there is one), so the encoder thread only encodes."""
    m = torch.from_numpy(yuv_matrix(matrix)).to(rgb.device)
    ycc = torch.einsum("ij,bjhw->bihw", m[:, :3], rgb.float()) + m[:, 3, None, None]
    chroma = F.avg_pool2d(ycc[:, 1:], 2)
    n, _, h, w = ycc.shape
    planes = torch.cat((ycc[:, 0].reshape(n, -1), chroma.reshape(n, -1)), dim=1)
    return planes.clamp(0, 255).to(torch.uint8).reshape(n, h * 3 // 2, w)


def rgb_to_yuv420p_cpu(rgb: np.ndarray, matrix: str) -> np.ndarray:
    """:func:`rgb_to_yuv420p` of one ``(H, W, 3)`` float32 frame with OpenCV, several times faster
    on a CPU than torch's full-resolution temporaries."""
    ycc = cv2.transform(np.ascontiguousarray(rgb, dtype=np.float32), yuv_matrix(matrix))
    h, w = ycc.shape[:2]
    chroma = cv2.resize(ycc[..., 1:], (w // 2, h // 2), interpolation=cv2.INTER_AREA)  # 2x2 means
    planes = np.concatenate((ycc[..., 0].ravel(), chroma[..., 0].ravel(), chroma[..., 1].ravel()))
    return np.clip(planes, 0, 255).astype(np.uint8).reshape(h * 3 // 2, w)


class VideoWriter:
    """The output file: a video stream set up for the chosen encoder, the input's other streams
    copied beside it. Video arrives as packets encoded apart (:meth:`new_encoder`, a render's
    segments) and is muxed as it is."""

    def __init__(self, path: Path, source, info: VideoInfo, options: VideoOptions, name: Path | None = None):
        self.path = Path(path)
        self.name = Path(name or path)  # what messages call the output (not its temporary file)
        codec = output_codec(self.path, options)
        self.out = av.open(str(self.path), mode="w")
        try:
            self._setup(source, info, options, codec)
        except BaseException:
            self.out.close()
            raise
        self.closed = False

    def _setup(self, source, info: VideoInfo, options: VideoOptions, codec: str) -> None:
        src_v = source.streams.video[0]
        w, h = src_v.codec_context.width, src_v.codec_context.height
        pix_fmt = options.pix_fmt
        supported = {f.name for f in av.Codec(codec, "w").video_formats or ()}
        if pix_fmt in ("yuv420p", "nv12") and (w % 2 or h % 2) and "yuv444p" in supported:
            # x264 and friends need even sizes for 4:2:0; 4:4:4 keeps the exact size.
            log.warning("odd frame size %dx%d: writing 4:4:4 chroma to keep the exact size", w, h)
            pix_fmt = "yuv444p"
        if supported and pix_fmt not in supported:
            raise VideoError(f"{self.name}: codec {codec} cannot write pixel format {pix_fmt} "
                             f"(it can: {', '.join(sorted(supported))})")
        self.stream = self.out.add_stream(codec, rate=info.fps)
        self.stream.width, self.stream.height, self.stream.pix_fmt = w, h, pix_fmt
        self.src_time_base = src_v.time_base
        if self.out.format.flags & AVFMT_VARIABLE_FPS:
            self.time_base = src_v.time_base
        else:
            # Constant-rate containers (AVI) count frames: one tick per frame of the input's rate.
            self.time_base = 1 / Fraction(info.fps)
            self._refuse_crowded_frames(source, info)
        # The muxer may still pick its own stream time base (MKV: 1/1000); packets are rescaled.
        self.stream.time_base = self.stream.codec_context.time_base = self.time_base
        opts = {}
        if codec in CRF_CODECS:
            opts["crf"] = str(options.crf)
        if codec in PRESET_CODECS:
            opts["preset"] = options.preset
        if codec == "libvpx-vp9":
            opts["b"] = "0"
        self.stream.options = self.encoder_options = opts
        # HD and larger is BT.709 by convention, smaller BT.601; tag the file so players agree.
        matrix = colour_matrix(h)
        self.colorspace, tag = MATRIX_TAGS[matrix]
        # Frames arrive as ready yuv420p planes when the size allows; otherwise as RGB.
        even = w % 2 == 0 and h % 2 == 0
        self.yuv420p_matrix = matrix if pix_fmt == "yuv420p" and even else None
        cc = self.stream.codec_context
        for attr, value in (("colorspace", tag), ("color_primaries", tag), ("color_trc", tag), ("color_range", 1)):
            try:
                setattr(cc, attr, value)
            except (AttributeError, TypeError, ValueError):
                pass
        if info.rotation:
            self.stream.set_display_rotation(info.rotation)
        self.stream.metadata.update({k: v for k, v in src_v.metadata.items() if k.lower() != "encoder"})
        if src_v.language:
            self.stream.metadata["language"] = src_v.language

        self.out.metadata.update({k: v for k, v in source.metadata.items() if k.lower() != "encoder"})
        self.passthrough: dict[int, object] = {}  # input stream index -> copy, for streams with packets
        for s in source.streams:
            if s.index == src_v.index:
                continue
            if s.type == "video":
                log.warning("%s: video stream %d (%s) dropped: only the first video stream is colourised",
                            self.name, s.index, _label(s))
                continue
            copy = None
            try:
                # The muxer checks attachments and data streams only when it writes the header.
                if s.type in ("audio", "subtitle") or self._can_hold(s):
                    copy = self.out.add_stream_from_template(s)
            except (ValueError, av.error.FFmpegError) as e:
                if s.type == "audio":
                    raise VideoError(f"{self.name}: {self.path.suffix} cannot hold the {s.codec_context.name} "
                                     f"audio of the input ({e}); choose a .mkv output") from None
            if copy is None:
                log.warning("%s: %s stream %d (%s) cannot be stored in %s: dropped", self.name, s.type, s.index,
                            _label(s), self.path.suffix)
                continue
            # A template gives the codec only: the track's language, title and default/forced flags
            # are the stream's own.
            copy.metadata.update(s.metadata)
            copy.disposition = s.disposition
            if s.type != "attachment":  # an attachment lives in the header: it has no packets
                self.passthrough[s.index] = copy
        try:
            chapters = source.chapters()
            if chapters:
                self.out.set_chapters(chapters)
        except (AttributeError, ValueError, av.error.FFmpegError) as e:
            log.warning("chapters could not be copied: %s", e)

    def _refuse_crowded_frames(self, source, info: VideoInfo) -> None:
        """Refuse, before any work, a variable-rate input whose frames come closer together than
        the constant rate's ticks: an encoder takes one frame a tick, so some would be lost."""
        with open_input(source.name) as scan:
            stream = scan.streams.video[0]
            ticks = [round(p.pts * stream.time_base / self.time_base)
                     for p in scan.demux(stream) if p.size and p.pts is not None]
        crowded = len(ticks) - len(set(ticks))
        if crowded:
            raise VideoError(f"{self.name}: the input's frame rate varies, and {self.path.suffix} stores a "
                             f"constant one ({float(info.fps):.3g} fps): {crowded} of its {len(ticks)} frames "
                             f"would be lost; choose a .mp4 or .mkv output")

    def _can_hold(self, stream) -> bool:
        """Whether the output format takes a copy of ``stream``, tried on a scratch file."""
        try:
            with av.open(io.BytesIO(), mode="w", format=self.out.format.name) as scratch:
                scratch.add_stream_from_template(stream)
                scratch.start_encoding()
            return True
        except (ValueError, av.error.FFmpegError):
            return False

    def new_encoder(self) -> av.CodecContext:
        """An encoder set up exactly as the output's video stream, so that what it encodes can be
        muxed into the output as it is (same parameters, same global headers)."""
        ref = self.stream.codec_context
        cc = av.CodecContext.create(ref.name, "w")
        cc.width, cc.height, cc.pix_fmt = ref.width, ref.height, ref.pix_fmt
        cc.time_base, cc.framerate, cc.flags = ref.time_base, ref.framerate, ref.flags
        for attr in ("colorspace", "color_primaries", "color_trc", "color_range"):
            try:
                setattr(cc, attr, getattr(ref, attr))
            except (AttributeError, TypeError, ValueError):
                pass
        cc.options = dict(self.encoder_options)
        return cc

    def video_frame(self, pixels: np.ndarray, pts: int) -> av.VideoFrame:
        """A frame for :meth:`new_encoder`'s encoders: yuv420p planes (when ``yuv420p_matrix`` is
        set) or RGB (H, W, 3); ``pts`` in the output's time base."""
        if self.yuv420p_matrix:
            frame = av.VideoFrame.from_ndarray(pixels, format="yuv420p")
        else:
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame = frame.reformat(format=self.stream.pix_fmt, dst_colorspace=self.colorspace,
                                   dst_color_range="MPEG")
        frame.pts, frame.time_base = pts, self.time_base
        return frame

    def start(self, extradata: bytes | None) -> None:
        """Write the header; ``extradata``: the global headers the video packets were encoded with,
        which must be the output stream's own."""
        self.out.start_encoding()
        own = bytes(self.stream.codec_context.extradata or b"")
        if extradata is not None and own != extradata:
            raise VideoError(f"{self.name}: the rendered segments were encoded with other codec headers than "
                             "this output's; render again from the start")

    def mux_video(self, data: bytes, pts: int | None, dts: int | None, keyframe: bool) -> None:
        """One encoded video packet, timestamps in the output's time base."""
        packet = av.Packet(data)
        packet.pts, packet.dts, packet.time_base, packet.is_keyframe = pts, dts, self.time_base, keyframe
        packet.stream = self.stream
        self.out.mux(packet)

    def mux_copied(self, packet) -> None:
        packet.stream = self.passthrough[packet.stream.index]
        self.out.mux(packet)

    def close(self) -> None:
        """Finish the file."""
        for packet in self.stream.encode(None):  # nothing was encoded here: a formality
            self.out.mux(packet)
        self.closed = True
        self.out.close()

    def abort(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.out.close()
        except (av.error.FFmpegError, OSError, ValueError):
            pass


def _label(stream) -> str:
    """What a warning calls a stream: an attachment's file name, else its codec."""
    codec = stream.codec_context.name if stream.codec_context is not None else None
    return stream.metadata.get("filename") or codec or getattr(stream, "name", None) or "unknown codec"


_DONE = object()


class EncodeThread(threading.Thread):
    """Hands frames from a bounded queue to ``sink.write`` (the encoder) on its own thread, then
    ``sink.close()``; ``sink.abort()`` when stopped or failed. A frame given as a function is
    made here first (the last of its work, done off the caller's thread)."""

    def __init__(self, sink, maxsize: int = 16):
        super().__init__(name="vidcolor-encode", daemon=True)
        self.sink = sink
        self.frames: queue.Queue = queue.Queue(maxsize)
        self.error: BaseException | None = None
        self.abort_event = threading.Event()
        self.busy = 0.0  # seconds encoding, flush included
        self.starved = 0.0  # seconds waiting for a frame to encode

    def put(self, *item) -> None:
        while not self.abort_event.is_set():
            if self.error is not None:
                raise self.error
            try:
                self.frames.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def run(self) -> None:
        try:
            while not self.abort_event.is_set():
                t0 = time.perf_counter()
                try:
                    item = self.frames.get(timeout=0.1)
                except queue.Empty:
                    continue
                finally:
                    t1 = time.perf_counter()
                    self.starved += t1 - t0
                if item is _DONE:
                    self.sink.close()
                    self.busy += time.perf_counter() - t1
                    return
                pixels, *rest = item
                self.sink.write(pixels() if callable(pixels) else pixels, *rest)
                self.busy += time.perf_counter() - t1
        except BaseException as e:
            self.error = e
        self.sink.abort()

    def finish(self) -> None:
        """Wait for everything queued to be encoded and the sink closed; re-raises encode errors."""
        while self.is_alive() and self.error is None:
            try:
                self.frames.put(_DONE, timeout=0.1)
                break
            except queue.Full:
                continue
        self.join()
        if self.error is not None:
            raise self.error

    def abort(self) -> bool:
        """Stop without closing the sink (a no-op after :meth:`finish`). False (reported) if the
        thread is stuck: the sink is then left to it, not aborted under it."""
        self.abort_event.set()
        if self.is_alive() and not join_or_report(self):
            return False
        self.sink.abort()
        return True
