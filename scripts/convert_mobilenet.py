"""Dev-time only: port the uint8 TF-Lite MobileNetV2 in ../shared/models into timm float weights.

    pip install tflite && python scripts/convert_mobilenet.py SRC.tflite assets/mobilenet_v2_imagenet.safetensors

Every CONV_2D / DEPTHWISE_CONV_2D of the flatbuffer, in graph order, maps onto the timm
``mobilenetv2_100`` convolutions (and its classifier) in module order. Weights are dequantised
(``(q - zero_point) * scale``, biases ``q * input_scale * weight_scale``); TF-Lite has batch norm
folded in, so each timm BatchNorm becomes an identity plus the folded bias. The app never imports
this file or the parser.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from vidcolor.model import ModelConfig, create_backbone  # noqa: E402
from vidcolor.weights import save_backbone  # noqa: E402


def read_tflite_convs(path: Path) -> list[tuple[np.ndarray, np.ndarray, bool]]:
    import tflite

    model = tflite.Model.GetRootAsModel(path.read_bytes(), 0)
    graph = model.Subgraphs(0)
    names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}

    def tensor(i):
        t = graph.Tensors(i)
        q = t.Quantization()
        raw = model.Buffers(t.Buffer()).DataAsNumpy()
        dtype = {tflite.TensorType.UINT8: np.uint8, tflite.TensorType.INT32: np.int32}.get(t.Type())
        data = None if isinstance(raw, int) or dtype is None else raw.view(dtype).reshape(t.ShapeAsNumpy())
        return data, float(q.ScaleAsNumpy()[0]), int(q.ZeroPointAsNumpy()[0])

    convs = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        name = names[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
        if name not in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            continue
        _, in_scale, _ = tensor(op.Inputs(0))
        wq, w_scale, w_zero = tensor(op.Inputs(1))
        bq, _, _ = tensor(op.Inputs(2))
        w = (wq.astype(np.float32) - w_zero) * w_scale
        b = bq.astype(np.float32) * (in_scale * w_scale)
        depthwise = name == "DEPTHWISE_CONV_2D"
        w = w.transpose(3, 0, 1, 2) if depthwise else w.transpose(0, 3, 1, 2)  # -> [O, I, kh, kw]
        convs.append((w, b, depthwise))
    return convs


def port(src: Path) -> nn.Module:
    net = create_backbone(ModelConfig())
    convs = read_tflite_convs(src)
    targets = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    if len(targets) != len(convs):
        raise SystemExit(f"{src}: {len(convs)} convolutions, timm model has {len(targets)}")
    # Each conv is followed by its BatchNorm in module order; the classifier has its own bias.
    norms = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    norm_iter = iter(norms)
    with torch.no_grad():
        for module, (w, b, _) in zip(targets, convs):
            w = torch.from_numpy(np.ascontiguousarray(w)).reshape(module.weight.shape)
            module.weight.copy_(w)
            if isinstance(module, nn.Linear):
                module.bias.copy_(torch.from_numpy(b))
                continue
            bn = next(norm_iter)
            bn.weight.fill_(1.0)
            bn.bias.copy_(torch.from_numpy(b))
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)  # (x - 0) / sqrt(var + eps) == x
    return net.eval()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", type=Path)
    ap.add_argument("dst", type=Path)
    args = ap.parse_args()
    save_backbone(port(args.src), args.dst, ModelConfig(), source=args.src.name)
    print(f"wrote {args.dst}")


if __name__ == "__main__":
    main()
