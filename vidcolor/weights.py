"""Safe weight files: safetensors with the model config and a format version in the header.

Two kinds of file: a backbone (the frozen classifier, shared by every trained model) and a
colorizer (everything trained, plus the name of its backbone file). Loading never unpickles,
matches keys strictly and names the file in every error.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import timm
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from .atomic import atomic_output
from .errors import WeightsError
from .model import FusionColorizer, ModelConfig, trainable_state_dict

FORMAT_VERSION = "1"
KIND_BACKBONE = "vidcolor-backbone"
KIND_COLORIZER = "vidcolor-colorizer"
DEFAULT_MODEL = "vidcolor_mobilenetv2.safetensors"
DEFAULT_BACKBONE = "mobilenet_v2_imagenet.safetensors"


def assets_dir() -> Path:
    """Shipped weights and samples: inside the installed package, or the checkout's ``assets/``."""
    here = Path(__file__).resolve().parent
    installed, checkout = here / "assets", here.parent / "assets"
    return installed if installed.is_dir() else checkout


def default_model_path() -> Path:
    return assets_dir() / DEFAULT_MODEL


def _half(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # fp16 halves the files; weights are used in bf16/fp16/fp32 alike and lose nothing that shows.
    return {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in state.items()}


def _atomic_save(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # safetensors creates files private to the user


def save_backbone(net: torch.nn.Module, path: Path, config: ModelConfig, source: str = "") -> None:
    meta = {"format": KIND_BACKBONE, "version": FORMAT_VERSION, "backbone": config.backbone,
            "backbone_classes": str(config.backbone_classes), "source": source}
    _atomic_save(_half(net.state_dict()), path, meta)


def save_colorizer(model: FusionColorizer, path: Path, backbone_file: str = DEFAULT_BACKBONE,
                   info: dict | None = None) -> None:
    meta = {"format": KIND_COLORIZER, "version": FORMAT_VERSION,
            "config": json.dumps(model.config.__dict__), "backbone_file": backbone_file,
            "info": json.dumps(info or {})}
    _atomic_save(_half(trainable_state_dict(model)), path, meta)


def _open(path: Path) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: weight file not found")
    try:
        with safe_open(str(path), framework="pt") as f:
            return f.metadata() or {}, {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as e:
        raise WeightsError(f"{path}: not a readable safetensors file ({e})") from None


def _check_header(meta: dict[str, str], path: Path, kind: str) -> None:
    if meta.get("format") != kind:
        raise WeightsError(f"{path}: expected a {kind} file, header says {meta.get('format')!r}")
    if meta.get("version") != FORMAT_VERSION:
        raise WeightsError(f"{path}: format version {meta.get('version')!r}, this vidcolor reads {FORMAT_VERSION}")


def _read(path: Path, kind: str) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    meta, tensors = _open(path)
    _check_header(meta, Path(path), kind)
    return meta, tensors


def _load_strict(module: torch.nn.Module, state: dict[str, torch.Tensor], path: Path,
                 expected: dict[str, torch.Tensor] | None = None) -> None:
    """Load ``state`` into ``module`` when its keys and shapes are exactly ``expected`` (default: all)."""
    expected = module.state_dict() if expected is None else expected
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(state) & set(expected) if state[k].shape != expected[k].shape)
    if missing or unexpected or wrong:
        parts = [f"{label}: {keys[:5]}{' ...' if len(keys) > 5 else ''}"
                 for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)) if keys]
        raise WeightsError(f"{path}: weights do not match the model ({'; '.join(parts)})")
    module.load_state_dict(state, strict=len(expected) == len(module.state_dict()))


def load_backbone(net: torch.nn.Module, path: Path, config: ModelConfig, plain_ok: bool = False) -> None:
    """Backbone weights from a vidcolor backbone file; with ``plain_ok``, also from a plain timm
    state dict in safetensors (no vidcolor header, such as a Hugging Face ``model.safetensors``)."""
    meta, state = _open(path)
    if not (plain_ok and "format" not in meta):
        _check_header(meta, Path(path), KIND_BACKBONE)
        if meta.get("backbone") != config.backbone:
            raise WeightsError(f"{path}: holds backbone {meta.get('backbone')!r}, model needs {config.backbone!r}")
    _load_strict(net, state, Path(path))


def resolve_backbone(name: str, near: Path | None = None) -> Path:
    """A backbone file named in a colorizer: looked for beside it, then in the shipped assets."""
    for folder in ([Path(near).parent] if near else []) + [assets_dir()]:
        if (folder / name).is_file():
            return folder / name
    raise WeightsError(f"backbone weights {name!r} not found beside {near or 'the model'} or in {assets_dir()}")


def new_model(config: ModelConfig | None = None, backbone: str | Path | None = None) -> FusionColorizer:
    """An untrained colorizer around pretrained backbone weights (the start of a training run).

    ``backbone``: a vidcolor backbone file (default: the shipped MobileNetV2), a plain timm state
    dict in safetensors, or ``"timm"`` for timm's own pretrained download (needs a network)."""
    model = FusionColorizer(config)
    cfg = model.config
    if str(backbone) == "timm":
        kwargs = {"pad_type": cfg.backbone_pad_type} if cfg.backbone_pad_type else {}
        try:
            state = timm.create_model(cfg.backbone, pretrained=True, num_classes=cfg.backbone_classes,
                                      **kwargs).state_dict()
        except Exception as e:  # timm raises many kinds of error for a failed download
            raise WeightsError(f"timm could not provide pretrained {cfg.backbone} weights ({e})") from None
        _load_strict(model.backbone, state, Path("timm"))
    else:
        path = Path(backbone) if backbone else resolve_backbone(DEFAULT_BACKBONE)
        load_backbone(model.backbone, path, cfg, plain_ok=backbone is not None)
    return model


def rewrite_settings(src: Path, dst: Path, info: dict | None = None, **settings) -> None:
    """Copy a colorizer file with some of its config's values changed (decoding settings chosen
    after training) and ``info`` merged into its training info; the weights are untouched."""
    meta, tensors = _read(Path(src), KIND_COLORIZER)
    config = ModelConfig.from_dict({**json.loads(meta["config"]), **settings})
    meta = {**meta, "config": json.dumps(config.__dict__),
            "info": json.dumps({**json.loads(meta.get("info", "{}")), **(info or {})})}
    _atomic_save(tensors, Path(dst), meta)


def load_colorizer(path: Path | None = None) -> tuple[FusionColorizer, dict]:
    """A trained colorizer and the training info stored with it."""
    path = Path(path) if path else default_model_path()
    meta, state = _read(path, KIND_COLORIZER)
    try:
        config = ModelConfig.from_dict(json.loads(meta["config"]))
        info = json.loads(meta.get("info", "{}"))
    except (KeyError, TypeError, ValueError) as e:
        raise WeightsError(f"{path}: bad model config in header ({e})") from None
    model = FusionColorizer(config)
    load_backbone(model.backbone, resolve_backbone(meta.get("backbone_file", DEFAULT_BACKBONE), near=path), config)
    _load_strict(model, state, path, expected=trainable_state_dict(model))
    return model.eval(), info
