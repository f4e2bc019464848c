"""The network's heaviest layers in int8, for video on a CPU.

On a CPU the network is a video render's slowest stage, and its own encoder (the paper's stack of
3x3 convolutions on L*) is most of it, the fusion layer (a 1x1 convolution over the tiled
embedding and the backbone's maps) next. Run in int8 (oneDNN/FBGEMM kernels) they take about
half the time of bf16, and the a*b* moves by 0.1 units on average. Their activation ranges are
calibrated once per model on the shipped sample photos, so every process, and every part of a
batch render, quantises alike. The rest stays as it is: the decoder's layers ran no faster in
int8. Colour hints need ranges that coarsen everything else (calibrated with them, the a*b* moved
by 2 units), so frames with hints take the float network. So do photos: one photo's network pass
is not worth two seconds of calibration.

The light decoder (arch "unet") stays float: its network is mostly the frozen backbone, and with
its decoder in int8 a 224-pixel frame took 43-47 ms against 28-33 ms in bf16 (AVX-512 with bf16),
and 51-58 against 56-65 ms in fp32 (capped at AVX2): one thread each, while other work ran.
"""

from __future__ import annotations

import copy
import threading
import warnings
import weakref

import cv2
import torch
from torch import nn

from .color import image_to_l
from .devices import accelerated
from .engine import Colorizer
from .weights import assets_dir

PARTS = ("encoder", "fusion")  # the model's modules run in int8

_lock = threading.Lock()
_quantised: "weakref.WeakKeyDictionary[nn.Module, dict[str, nn.Module]]" = weakref.WeakKeyDictionary()
_copied_from: "weakref.WeakKeyDictionary[nn.Module, nn.Module]" = weakref.WeakKeyDictionary()  # see copy_model


class Int8Part(nn.Module):
    """A quantised module with the float one's interface: float in, float out."""

    def __init__(self, quantised: nn.Module):
        super().__init__()
        self.quantised = quantised

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.quantised(x.float().contiguous())


def int8_colorizer(colorizer):
    """``colorizer`` itself on a GPU; on a CPU, a :class:`~vidcolor.engine.Colorizer` with the
    same model, settings and device whose :data:`PARTS` run in int8 (quantised once per model, and
    kept while the model lives). For frames without colour hints. A model without the paper's
    encoder (arch "unet") is returned as it is."""
    if (accelerated(colorizer.device) or "x86" not in torch.backends.quantized.supported_engines
            or not hasattr(colorizer.model, "encoder")):
        return colorizer  # the light decoder's network is mostly the backbone, which stays float
    model = colorizer.model
    with _lock:
        loaded = _copied_from.get(model, model)
        parts = _quantised.get(loaded)
        if parts is None:
            parts = _quantised[loaded] = _quantise(colorizer)
    quantised = copy.copy(model)  # shares every module and buffer but the quantised ones
    quantised._modules = {**model._modules, **parts}
    return Colorizer(quantised, colorizer.device, colorizer.settings, colorizer.info)


def copy_model(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` (for another thread to run) that shares its int8 parts: they are
    calibrated once per loaded model, not once per copy."""
    copied = copy.deepcopy(model)
    with _lock:
        _copied_from[copied] = _copied_from.get(model, model)
    return copied


def _quantise(colorizer) -> dict[str, nn.Module]:
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    torch.backends.quantized.engine = "x86"
    model = colorizer.model
    seen: dict[str, list[torch.Tensor]] = {name: [] for name in PARTS}  # each part's inputs, as the network makes them
    hooks = [getattr(model, name).register_forward_pre_hook(
        lambda _module, args, name=name: seen[name].append(args[0].detach().float().clone())) for name in PARTS]
    try:
        for path in sorted((assets_dir() / "samples").glob("*.jpg")):
            gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            colorizer.heads(colorizer.network_input(image_to_l(gray)[None]))
    finally:
        for hook in hooks:
            hook.remove()
    if not seen[PARTS[0]]:
        raise FileNotFoundError(f"{assets_dir() / 'samples'}: no sample photos to calibrate the int8 network on")
    parts = {}
    with warnings.catch_warnings():
        # FX quantisation is deprecated in favour of torchao; constraints.txt pins the torch it
        # was measured with.
        warnings.simplefilter("ignore")
        for name in PARTS:
            prepared = prepare_fx(copy.deepcopy(getattr(model, name)).float().eval(),
                                  get_default_qconfig_mapping("x86"), (seen[name][0],))
            with torch.inference_mode():
                for x in seen[name]:
                    prepared(x)
            parts[name] = Int8Part(convert_fx(prepared))
    return parts
