"""The engine surface the CLI, the GUI and the tests all call: :class:`Colorizer`.

Colour is predicted at the network's size and joined with the input's own full-resolution L*:
the output has the input's exact size and lightness. The network sees the image at its own
aspect ratio (about ``size x size`` pixels in all, each side a multiple of 8), so nothing is
squashed; so does the frozen classifier of a model that fuses its maps (the paper's global-only
fusion gives the classifier a letterboxed square, as the paper pads its input).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .color import AB_MAX, check_image, gray_to_l_table, image_to_l, to_unit_float
from .devices import accelerated
from .errors import Cancelled
from .hints import Hint, check_inside, hint_map, pin_to_hints
from .join import check_cancel, from_unit_float, join_cpu, join_torch
from .model import FusionColorizer, fold_batch_norms, network_shape
from .reference import Reference, match_references, merge_hints
from .settings import RenderSettings
from .weights import load_colorizer


def select_device(device: str | torch.device | None = "auto") -> torch.device:
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("CUDA was asked for but no CUDA GPU is available (use --device cpu or auto)")
    return device


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """bf16 where it is a clear win: CUDA, and CPUs with native bf16 (about 2x faster than fp32)."""
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and torch.backends.mkldnn.is_available() and _cpu_has_bf16():
        return torch.bfloat16
    return None


# oneDNN's instruction-set caps (ONEDNN_MAX_CPU_ISA) under which it has native bf16 arithmetic.
_BF16_ISA_WORDS = ("BF16", "FP16", "AMX", "AVX10", "ALL", "DEFAULT")


def _cpu_has_bf16() -> bool:
    """Native bf16 on this CPU, as oneDNN will use it: a cap below AVX512_CORE_BF16 (set to run as
    a CPU without it would, e.g. ONEDNN_MAX_CPU_ISA=AVX2) turns bf16 off here too."""
    cap = (os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or "").upper()
    if cap and not any(word in cap for word in _BF16_ISA_WORDS):
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(f in flags for f in ("avx512_bf16", "amx_bf16"))


class Colorizer:
    """A loaded model on a device, with render settings; thread-compatible, not thread-safe."""

    def __init__(self, model: FusionColorizer, device: str | torch.device | None = "auto",
                 settings: RenderSettings | None = None, info: dict | None = None):
        self.device = select_device(device)
        self.dtype = autocast_dtype(self.device)
        self.model = model.to(self.device).eval().to(memory_format=torch.channels_last)
        self.settings = (settings or RenderSettings()).validate()
        self.info = info or {}

    @classmethod
    def from_pretrained(cls, path: str | Path | None = None, device: str | None = "auto",
                        settings: RenderSettings | None = None, **fields) -> "Colorizer":
        """Load shipped weights (default) or a file written by ``vidcolor train`` for inference
        (batch norms folded: see :func:`vidcolor.model.fold_batch_norms`); render settings as a
        :class:`RenderSettings` or as its fields."""
        model, info = load_colorizer(path)
        return cls(fold_batch_norms(model), device, settings or RenderSettings(**fields), info)

    # -- batched core, all on self.device --------------------------------------------------------
    def _autocast(self):
        return torch.autocast(self.device.type, dtype=self.dtype or torch.float32, enabled=self.dtype is not None)

    @torch.inference_mode()
    def embed(self, L_net: torch.Tensor) -> torch.Tensor:
        """Global embeddings ``(B, E)`` of network-size L* ``(B, 1, h, w)``."""
        with self._autocast():
            return self.model.embed(L_net.to(self.device)).float()

    @torch.inference_mode()
    def predict_ab(self, L_net: torch.Tensor, embedding=None, hints: torch.Tensor | None = None) -> torch.Tensor:
        """a*b* ``(B, 2, h/2, w/2)`` for network-size L* ``(B, 1, h, w)``, intensity applied;
        ``embedding`` and ``hints`` as :meth:`FusionColorizer.forward_features` takes them."""
        return self.decode(self.heads(L_net, embedding, hints))

    @torch.inference_mode()
    def backbone_maps(self, L_net: torch.Tensor, strides: tuple[int, ...]) -> list[torch.Tensor]:
        """The frozen backbone's maps at ``strides`` for L* ``(B, 1, h, w)``, float32 on
        self.device (see :meth:`FusionColorizer.backbone_maps`)."""
        L_net = L_net.to(self.device).contiguous(memory_format=torch.channels_last)
        with self._autocast():
            return [m.float() for m in self.model.backbone_maps(L_net, strides)]

    @torch.inference_mode()
    def heads(self, L_net: torch.Tensor, embedding=None, hints: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """The network's raw outputs for network-size L* (see :meth:`FusionColorizer.forward_head`)."""
        L_net = L_net.to(self.device).contiguous(memory_format=torch.channels_last)
        if isinstance(embedding, torch.Tensor):
            embedding = embedding.to(self.device)
        if hints is not None:
            hints = hints.to(self.device)
        with self._autocast():
            return self.model(L_net, embedding, hints)

    def decode(self, out: dict[str, torch.Tensor], temperature: float | None = None,
               blend: float | None = None, gain: float | None = None, doubt: float | None = None) -> torch.Tensor:
        """a*b* from :meth:`heads`, with the settings' decoding unless given, intensity applied."""
        s = self.settings
        ab = self.model.decode_ab(out, s.temperature if temperature is None else temperature,
                                  s.blend if blend is None else blend, gain, doubt)
        return (ab * s.intensity).clamp(-AB_MAX, AB_MAX)

    def network_input(self, L_full: torch.Tensor) -> torch.Tensor:
        """Full-resolution L* ``(B, 1, H, W)`` resized (area-averaged) to the network's shape."""
        h, w = network_shape(*L_full.shape[-2:], self.settings.size)
        return F.interpolate(L_full.float(), size=(h, w), mode="bilinear", align_corners=False, antialias=True)

    # -- numpy images ------------------------------------------------------------------------------
    def colorize_image(self, image: np.ndarray, cancel: threading.Event | None = None,
                       hints: list[Hint] | None = None, references: list[Reference] | None = None) -> np.ndarray:
        """Colourise one image: gray ``(H, W)`` or RGB ``(H, W, 3)`` (its luminance is used), uint8,
        uint16 or float in [0, 1]. Returns RGB ``(H, W, 3)`` of the same dtype and size. Setting
        ``cancel`` stops a large image within a strip of rows, raising :class:`Cancelled`.
        ``hints``: colours the user knows, at pixels of the image (:mod:`vidcolor.hints`).
        ``references``: colour photos of what it shows, whose colour is taken where their content
        matches (:mod:`vidcolor.reference`); the hints win where the two meet."""
        return self.colorize_batch([image], cancel, None if hints is None else [hints], references)[0]

    def colorize_batch(self, images: list[np.ndarray], cancel: threading.Event | None = None,
                       hints: list[list[Hint]] | None = None,
                       references: list[Reference] | None = None) -> list[np.ndarray]:
        """Colourise several images (with each one's ``hints``, and ``references`` for all of
        them); those of one shape share a pass."""
        results: list[np.ndarray | None] = [None] * len(images)
        groups: dict[tuple, list[int]] = {}
        for i, im in enumerate(images):
            groups.setdefault(check_image(im).shape[:2], []).append(i)
            if hints is not None:
                check_inside(hints[i], im.shape[1], im.shape[0])
        for (H, W), idx in groups.items():
            check_cancel(cancel)
            L_full = torch.stack([image_to_l(images[i]) for i in idx])
            L_net = self.network_input(L_full.to(self.device))
            group_hints = [list(hints[i]) if hints is not None else [] for i in idx]
            if references:
                for j, own in enumerate(group_hints):
                    own += match_references(self, L_full[j:j + 1], references)
            ab = self.predict_ab_hinted(L_net, group_hints, (W, H))
            for j, i in enumerate(idx):
                results[i] = self.join_to_numpy(L_full[j], ab[j], images[i].dtype, cancel)
        return results

    def predict_ab_hinted(self, L_net: torch.Tensor, hints: list[list[Hint]] | None,
                          image_size: tuple[int, int], embedding=None) -> torch.Tensor:
        """a*b* ``(B, 2, h/2, w/2)`` float32 for network-size L* ``(B, 1, h, w)`` of images of
        ``image_size`` (width, height), each with its ``hints``: the network's prediction with the
        hints as input, then pinned so that each hint's pixel gets its colour and what the network
        coloured alike nearby follows (:func:`vidcolor.hints.pin_to_hints`); matched hints (from a
        reference photo) that the user's own clear are left out (:func:`vidcolor.reference.merge_hints`).
        No hints: exactly :meth:`predict_ab`. ``embedding`` as :meth:`predict_ab` takes it."""
        if not hints or not any(hints):
            return self.predict_ab(L_net, embedding).float()
        # L* at a*b*'s size (half the network's, whose sides are multiples of 8).
        L_ab = F.avg_pool2d(L_net.float(), 2)
        hints = [merge_hints(h, L_ab[i, 0], image_size) for i, h in enumerate(hints)]
        net = (L_net.shape[-1], L_net.shape[-2])
        maps = torch.stack([hint_map(h, image_size, net) for h in hints])
        out = self.heads(L_net, embedding, maps)
        ab, mean = self.decode(out).float(), self.decode(out, blend=0.0).float()
        L_ab = L_ab.to(ab.device)
        return torch.stack([pin_to_hints(ab[i], L_ab[i, 0], h, image_size, self.settings.intensity, mean[i])
                            for i, h in enumerate(hints)])

    def join_to_numpy(self, L: torch.Tensor, ab: torch.Tensor, dtype: np.dtype,
                      cancel: threading.Event | None = None) -> np.ndarray:
        """RGB ``(H, W, 3)`` of ``dtype`` from full-resolution L* ``(1, H, W)`` and a*b* ``(2, h, w)``."""
        if not accelerated(self.device):
            out = np.empty((*L.shape[-2:], 3), dtype)
            return join_cpu(L[0].numpy(), ab.permute(1, 2, 0).cpu().numpy(), out, cancel)
        rgb = join_torch(L[None].to(self.device), ab[None], cancel)[0]
        return from_unit_float(rgb.permute(1, 2, 0).cpu().numpy(), dtype)


# image_to_l, gray_to_l_table and to_unit_float live in vidcolor.color (the hints and the video
# code need them without the engine); named here too, where callers have always found them.
__all__ = ["Colorizer", "RenderSettings", "Cancelled", "select_device", "network_shape", "image_to_l", "gray_to_l_table",
           "to_unit_float"]
