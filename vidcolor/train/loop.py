"""``vidcolor train``: fit the fusion network on colour photos, resumable and time-boxed.

A run folder holds ``last.pt`` (everything needed to resume exactly: weights, optimiser, step,
random generator), ``model.safetensors`` (the weights the app loads, rewritten every epoch),
``best.safetensors`` (the epoch that scored best on the held-out tune sources: early stopping) and
``log.jsonl`` (one line of losses and tune-split metrics per epoch). With ``ema``, what is scored
and saved is an exponential moving average of the weights (and batch-norm statistics), not the
last step's: on a CPU's small batches the tune score of the last step's weights swings by tenths
of a dB from epoch to epoch, which makes early stopping pick by chance.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel
from tqdm import tqdm

from ..atomic import atomic_output
from ..color import lab_to_rgb, rgb_to_lab
from ..engine import autocast_dtype, select_device
from ..evaluate import evenly
from ..metrics import colourfulness, psnr
from ..model import BACKBONES, ModelConfig
from ..weights import DEFAULT_BACKBONE, load_colorizer, new_model, save_backbone, save_colorizer
from . import data as D
from .degrade import degrade_l
from .hints import simulate_hints
from .losses import ab_prior, colour_loss, rebalance_weights

PRESETS = {
    # Baldassarre et al.: MSE on a*b*, Adam 1e-3, batch 100, 224x224, no normalisation layers,
    # global fusion only, photos drawn as they occur, clean inputs.
    "paper": dict(arch="fusion", head="regression", norm="none", regression="mse", lr=1e-3, batch=100, crop=224,
                  weight_decay=0.0, warmup=0, schedule="constant", balance=1.0, fuse_strides=(),
                  hints=False, degrade=0.0, ema=0.0, decoder_width=128, faces=None),
    # Ours: the light decoder over the frozen backbone's maps at strides 4-32 (arch "unet"; "fusion"
    # is the paper's encoder with the stride-8/16/32 maps fused beside it at H/8), batch norm,
    # classification over a*b* bins + Huber regression, AdamW with a cosine decay; sources balanced
    # (square root of their size), inputs aged like old prints, trained with simulated colour hints;
    # the weights' moving average is what is scored and saved.
    "vidcolor": dict(arch="unet", head="hybrid", norm="batch", regression="huber", lr=1e-3, batch=64, crop=160,
                     weight_decay=1e-4, warmup=300, schedule="cosine", balance=0.5, fuse_strides=None,
                     hints=True, degrade=0.6, ema=0.999, decoder_width=128, faces=0.1),
}
# The backbone maps each architecture takes unless told: the decoder climbs strides 4-32; the
# paper's encoder is fused with the coarser three.
ARCH_STRIDES = {"unet": (4, 8, 16, 32), "fusion": (8, 16, 32)}
OVERRIDABLE = ("arch", "decoder_width", "batch", "crop", "lr", "weight_decay", "balance", "faces", "fuse_strides",
               "hints", "degrade", "ema")


SAVE_INTERVAL_S = 60.0
PRIOR_EPOCH = 1 << 30
RUN_BACKBONE = "backbone.safetensors"  # a non-default backbone's weights, saved in the run folder


@dataclasses.dataclass
class TrainConfig:
    data: str
    out: str
    preset: str = "vidcolor"
    arch: str | None = None  # "unet" (ours) or "fusion" (the paper's encoder)
    decoder_width: int | None = None  # "unet": channels at the bottleneck
    epochs: int = 30
    minutes: float = 0.0  # > 0: fit the schedule to this wall-clock budget (refitted every epoch)
    batch: int | None = None
    crop: int | None = None
    lr: float | None = None
    weight_decay: float | None = None
    balance: float | None = None  # sources drawn by size**balance (1: as photos occur)
    faces: float | None = None  # the face crops' share of the draws
    fuse_strides: tuple[int, ...] | None = None  # backbone maps fused; (): global fusion only
    hints: bool | None = None  # train with simulated colour hints
    degrade: float | None = None  # share of inputs aged like old prints
    ema: float | None = None  # decay of the weights' moving average per step; 0: the last step's weights
    reg_weight: float = 10.0
    embedding: str = "logits"
    backbone: str = "mobilenetv2_100"
    backbone_weights: str | None = None  # default: the shipped MobileNetV2; a file, or "timm"
    init: str | None = None  # weights to continue from (e.g. the shipped model)
    # Leading encoder convolutions kept as they are (with their batch norms' statistics): on a CPU
    # their backward pass is most of a step, and a continued model's low-level filters need no relearning.
    freeze_encoder: int = 0
    seed: int = 0
    device: str = "auto"
    workers: int = 2
    val_every: int = 1

    def resolved(self) -> dict:
        p = dict(PRESETS[self.preset])
        for k in OVERRIDABLE:
            if getattr(self, k) is not None:
                p[k] = getattr(self, k)
        p["fuse_strides"] = tuple(ARCH_STRIDES[p["arch"]] if p["fuse_strides"] is None else p["fuse_strides"])
        return p


class Batches:
    """Epochs of uint8 crops from a pack (augmented on the device) or a folder (in workers)."""

    def __init__(self, source: Path, crop: int, batch: int, balance: float, device: torch.device,
                 generator: torch.Generator, seed: int, workers: int, faces: float | None = None):
        self.source, self.crop, self.batch, self.device, self.gen = Path(source), crop, batch, device, generator
        self.packed = (self.source / "index.json").is_file()
        if self.packed:
            images, sources = D.load_pack(self.source)
            self.images = images.to(device)
        else:
            files = D.split_files(self.source, "train")
            sources = [D.source_of(f, self.source) for f in files]
            self.dataset = D.FolderCrops(files, crop, seed=seed)
            self.workers = workers
        self.sources = sources
        if len(self) == 0:
            raise ValueError(f"{source}: {len(sources)} training images, fewer than one batch of {batch}")
        self.weights = D.sample_weights(sources, balance, faces)

    def __len__(self) -> int:
        return len(self.sources) // self.batch

    def epoch(self, epoch: int):
        """The batches of epoch ``epoch`` (>= 0), in an order fixed by the run's seed."""
        order = torch.multinomial(self.weights, len(self) * self.batch, replacement=True,
                                  generator=self._cpu_gen(epoch)).view(len(self), self.batch)
        if self.packed:
            for idx in order:
                yield D.augment(self.images[idx.to(self.device)], self.crop, self.gen)
            return
        self.dataset.epoch = epoch
        sampler = order.flatten().tolist()
        loader = torch.utils.data.DataLoader(self.dataset, batch_size=self.batch, sampler=sampler,
                                             num_workers=self.workers, drop_last=True,
                                             persistent_workers=False, prefetch_factor=4 if self.workers else None)
        for x in loader:
            yield x.to(self.device, non_blocking=True).float() / 255.0

    def _cpu_gen(self, epoch: int) -> torch.Generator:
        g = torch.Generator()
        g.manual_seed(int(torch.randint(0, 2**62, (1,), generator=self.gen, device=self.gen.device)) + epoch)
        return g


def tune_images(data: Path, crop: int, device: torch.device, limit: int = 512) -> tuple[torch.Tensor, list[str]]:
    """Fixed centre crops of the tune split (a pack named ``tune`` beside a pack, or the held-out
    files), at most ``limit`` spread evenly over it, so that every held-out source is in them."""
    data = Path(data)
    tune = data.parent / "tune"
    if (data / "index.json").is_file() and (tune / "index.json").is_file():
        images, sources = D.load_pack(tune)
        keep = evenly(len(sources), limit)
        images, sources = images[keep], [sources[i] for i in keep]
    else:
        files = D.split_files(data, "tune")
        files = [files[i] for i in evenly(len(files), limit)]
        sources = [D.source_of(f, data) for f in files]
        images = torch.stack([torch.from_numpy(D.square(D.read_rgb(f), crop)).permute(2, 0, 1) for f in files]) \
            if files else torch.empty((0, 3, crop, crop), dtype=torch.uint8)
    if images.shape[-1] != crop:
        images = F.interpolate(images.float(), size=(crop, crop), mode="area").round().byte()
    return images.to(device), sources


@torch.no_grad()
def evaluate(model, images: torch.Tensor, sources: list[str], dtype) -> dict:
    """PSNR over gray and colourfulness ratio on tune crops, faces and scenes apart."""
    modes = [m.training for m in model.modules()]  # restored as they were: frozen layers stay in eval
    model.eval()
    rows = []
    for chunk in images.split(64):
        rgb = chunk.float() / 255
        lab = rgb_to_lab(rgb)
        with torch.autocast(rgb.device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            out = model(lab[:, :1])
        ab = F.interpolate(model.decode_ab(out), size=rgb.shape[-2:], mode="bilinear", align_corners=False)
        pred = lab_to_rgb(torch.cat((lab[:, :1], ab), 1))
        gray = lab_to_rgb(torch.cat((lab[:, :1], torch.zeros_like(ab)), 1))
        rows.append(torch.stack((psnr(pred, rgb), psnr(gray, rgb), colourfulness(pred), colourfulness(rgb)), 1))
    for m, mode in zip(model.modules(), modes):
        m.training = mode
    if not rows:
        return {}
    m = torch.cat(rows).cpu()
    faces = torch.tensor([D.is_face(s) for s in sources])
    result = {}
    for name, sel in (("scenes", ~faces), ("faces", faces)):
        if sel.any():
            g = m[sel]
            result[name] = {"psnr": g[:, 0].mean().item(), "psnr_gray": g[:, 1].mean().item(),
                            "gain_db": (g[:, 0] - g[:, 1]).mean().item(),
                            "colourfulness_ratio": (g[:, 2].mean() / g[:, 3].mean().clamp(min=1e-6)).item()}
    return result


def train_step(model, opt, rgb: torch.Tensor, gen: torch.Generator, p: dict, bins, weights, reg_weight: float,
               dtype) -> dict[str, torch.Tensor]:
    """One optimiser step on a batch of RGB crops in [0, 1]; returns the loss terms."""
    lab = rgb_to_lab(rgb)
    L = degrade_l(rgb, gen, p["degrade"]) if p["degrade"] > 0 else lab[:, :1]
    hints = simulate_hints(lab[:, 1:], gen) if model.config.hints else None
    L = L.contiguous(memory_format=torch.channels_last)
    with torch.autocast(rgb.device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
        out = model(L, hints=hints)
    terms = colour_loss(out, lab[:, 1:], bins, weights, p["regression"], reg_weight)
    opt.zero_grad(set_to_none=True)
    terms["loss"].backward()
    opt.step()
    return terms


def freeze_encoder(model, convs: int) -> None:
    """Stop training the first ``convs`` convolutions of the encoder (and the layers between them).
    Their batch norms are put in eval mode, so call this after ``model.train()``."""
    if not convs:
        return
    if not hasattr(model, "encoder"):
        raise ValueError("only the fusion architecture has an encoder of its own to freeze")
    layers = list(model.encoder)
    starts = [i for i, m in enumerate(layers) if isinstance(m, torch.nn.Conv2d)]
    if not 0 <= convs <= len(starts):
        raise ValueError(f"freeze_encoder must be between 0 and {len(starts)}, got {convs}")
    frozen = layers[:starts[convs]] if convs < len(starts) else layers
    for m in frozen:
        m.requires_grad_(False).eval()


def _lr(step: int, total: int, base: float, warmup: int, schedule: str) -> float:
    if warmup and step < warmup:
        return base * (step + 1) / warmup
    if schedule == "constant" or total <= 0:
        return base
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return base * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * progress)))


def _atomic_torch_save(obj, path: Path) -> None:
    with atomic_output(path) as tmp:
        torch.save(obj, tmp)


def train(cfg: TrainConfig, progress: bool = True, stop_after: int | None = None) -> dict:
    """Run (or resume) training in ``cfg.out``; returns the last epoch's log line.

    ``stop_after`` ends this call after that many epochs (the run can be resumed later).
    """
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    p = cfg.resolved()
    device = select_device(cfg.device)
    dtype = autocast_dtype(device)
    torch.manual_seed(cfg.seed)
    ckpt_path = out / "last.pt"
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True) if ckpt_path.is_file() else None
    if ckpt is not None:
        saved = TrainConfig(**json.loads(ckpt["train_config"]))
        if saved.resolved() != p or (saved.data, saved.freeze_encoder) != (cfg.data, cfg.freeze_encoder):
            raise ValueError(f"{ckpt_path}: this run was started with other settings; use another --out")
        model_config = ModelConfig.from_dict(json.loads(ckpt["model_config"]))
        own = out / RUN_BACKBONE
        model = new_model(model_config, own if own.is_file() else None)
    elif cfg.init:
        model, _ = load_colorizer(cfg.init)
    else:
        if cfg.backbone not in BACKBONES:
            raise ValueError(f"unknown backbone {cfg.backbone!r} (choose from {', '.join(BACKBONES)})")
        model = new_model(ModelConfig(arch=p["arch"], decoder_width=p["decoder_width"], head=p["head"], norm=p["norm"],
                                      embedding=cfg.embedding, backbone=cfg.backbone, fuse_strides=p["fuse_strides"],
                                      hints=p["hints"], **BACKBONES[cfg.backbone]), cfg.backbone_weights)
    model.to(device).train()
    freeze_encoder(model, cfg.freeze_encoder)
    # Channels-last: about 12 % faster steps on a CPU (oneDNN) as well as on a GPU.
    model.to(memory_format=torch.channels_last)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    params = [q for q in model.parameters() if q.requires_grad]
    opt = torch.optim.AdamW(params, lr=p["lr"], weight_decay=p["weight_decay"])
    ema = AveragedModel(model, multi_avg_fn=_ema_update(p["ema"]), use_buffers=True) if p["ema"] > 0 else None

    gen = torch.Generator(device=device if device.type == "cuda" else "cpu")
    gen.manual_seed(cfg.seed)
    batches = Batches(Path(cfg.data), p["crop"], p["batch"], p["balance"], device, gen, cfg.seed, cfg.workers,
                      p["faces"])
    tune, tune_sources = tune_images(Path(cfg.data), p["crop"], device)

    bins = getattr(model, "ab_bins", None)
    weights = None
    step, epoch, total = 0, 0, len(batches) * cfg.epochs
    best = -math.inf  # the best tune score so far (see tune_score)
    if ckpt is not None:
        model.load_state_dict(ckpt["model"], strict=False)
        opt.load_state_dict(ckpt["opt"])
        step, epoch, total = int(ckpt["step"]), int(ckpt["epoch"]), int(ckpt["total"])
        gen.set_state(ckpt["gen"])
        weights = ckpt.get("rebalance")
        weights = weights.to(device) if weights is not None else None
        best = float(ckpt.get("best", best))
        if ema is not None and "ema" in ckpt:  # else (a run from before averaging) it starts here
            ema.load_state_dict(ckpt["ema"], strict=False)
    elif bins is not None:
        # Colour prior over the training images, for rebalancing the classification loss: nine
        # batches drawn in an order of their own (an epoch number training never reaches).
        sample = torch.cat([x for _, x in zip(range(9), batches.epoch(PRIOR_EPOCH))])
        weights = rebalance_weights(ab_prior(F.avg_pool2d(rgb_to_lab(sample)[:, 1:], 4), bins))
    epochs = cfg.epochs if ckpt is None else int(ckpt["epochs"])
    log = out / "log.jsonl"
    last = {}
    t_start = t_second = time.perf_counter()
    first = epoch  # this call's first epoch: a resumed run's time budget is its session's
    stop_at = epochs if stop_after is None else min(epochs, first + stop_after)
    last_save = time.perf_counter()
    scored = model if ema is None else ema.module  # what is scored on the tune split and saved
    while epoch < stop_at:
        t0 = time.perf_counter()
        sums: dict[str, float] = {}
        bar = tqdm(batches.epoch(epoch), total=len(batches), desc=f"epoch {epoch + 1}/{epochs}",
                   disable=not progress, leave=False)
        for rgb in bar:
            for group in opt.param_groups:
                group["lr"] = _lr(step, total, p["lr"], p["warmup"], p["schedule"])
            terms = train_step(model, opt, rgb, gen, p, bins, weights, cfg.reg_weight, dtype)
            if ema is not None:
                ema.update_parameters(model)
            step += 1
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach())
            bar.set_postfix(loss=f"{sums['loss'] / (bar.n + 1):.4f}")
        epoch += 1
        seconds = time.perf_counter() - t0
        last = {"epoch": epoch, "epochs": epochs, "step": step, "seconds": round(seconds, 2),
                "lr": opt.param_groups[0]["lr"], **{k: v / len(batches) for k, v in sums.items()}}
        improved = False
        if cfg.val_every and (epoch % cfg.val_every == 0 or epoch == epochs):
            last["tune"] = evaluate(scored, tune, tune_sources, dtype)
            score = tune_score(last["tune"])
            improved = score > best
            best = max(best, score)
        if cfg.minutes > 0 and epoch - first >= 2:
            # Fit the schedule to the time budget (a resumed run: the rest of it to this session's)
            # from the mean duration of this call's epochs after its first (slowed by warm-up:
            # cuDNN autotuning, allocator growth), again after every epoch, since other work on
            # the machine can change the pace mid-run.
            if epoch - first == 2:
                t_second = t0
            left = cfg.minutes * 60 - (time.perf_counter() - t_start)
            pace = (time.perf_counter() - t_second) / (epoch - first - 1)
            epochs = last["epochs"] = max(epoch, epoch + int(left / pace))
            total = len(batches) * epochs
            stop_at = epochs if stop_after is None else min(epochs, first + stop_after)
        with open(log, "a") as fh:
            fh.write(json.dumps(last) + "\n")
        if progress:
            tqdm.write(json.dumps(last))
        # Saving costs about a second; on a fast GPU epochs take a few, so save at most once a minute.
        if epoch >= stop_at or improved or time.perf_counter() - last_save >= SAVE_INTERVAL_S:
            _save(out, model, ema, opt, step, epoch, epochs, total, gen, weights, cfg, p, t_start, best, improved)
            last_save = time.perf_counter()
    return last


COLOURFULNESS_TARGET = 0.75  # of the truth's, on photos from sources never trained on


def tune_score(tune: dict) -> float:
    """One number for early stopping on the held-out sources' scenes: the PSNR gain over gray,
    less 5 dB per unit of colourfulness ratio short of the target. PSNR alone prefers the dull
    early epochs (a model that predicts near-gray scores well and looks gray)."""
    group = tune.get("scenes") or tune.get("faces") or {}
    if "gain_db" not in group:
        return -math.inf
    return group["gain_db"] - 5 * max(0.0, COLOURFULNESS_TARGET - group["colourfulness_ratio"])


def _ema_update(decay: float):
    """Moving average of the weights; early on it follows faster (decay (1 + n) / (10 + n)), so
    a run from scratch is not held back by its random start."""
    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], n: torch.Tensor) -> None:
        if not averaged[0].is_floating_point():
            for a, c in zip(averaged, current):
                a.copy_(c)  # batch norms' step counts
            return
        d = min(decay, (1 + float(n)) / (10 + float(n)))
        torch._foreach_lerp_(averaged, current, 1 - d)
    return update


def _save(out: Path, model, ema, opt, step, epoch, epochs, total, gen, weights, cfg: TrainConfig, p: dict,
          t_start: float, best: float, improved: bool) -> None:
    state = {"best": best, "model": {k: v for k, v in model.state_dict().items() if not k.startswith("backbone.")},
             "opt": opt.state_dict(), "step": step, "epoch": epoch, "epochs": epochs, "total": total,
             "gen": gen.get_state(), "train_config": json.dumps(dataclasses.asdict(cfg)),
             "model_config": json.dumps(model.config.__dict__)}
    if ema is not None:
        state["ema"] = {k: v for k, v in ema.state_dict().items() if not k.startswith("module.backbone.")}
    if weights is not None:
        state["rebalance"] = weights.cpu()
    _atomic_torch_save(state, out / "last.pt")
    model = model if ema is None else ema.module  # the weights that were scored
    device = next(model.parameters()).device
    backbone_file = DEFAULT_BACKBONE
    if model.config.backbone != ModelConfig().backbone or cfg.backbone_weights:
        # Not the shipped backbone: its weights travel beside the model.
        backbone_file = RUN_BACKBONE
        if not (out / RUN_BACKBONE).is_file():
            save_backbone(model.backbone, out / RUN_BACKBONE, model.config, source=str(cfg.backbone_weights))
    info = {"preset": cfg.preset, "epochs": epoch, "steps": step, "crop": p["crop"], "batch": p["batch"],
            "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
            "train_seconds": round(time.perf_counter() - t_start, 1), "data": Path(cfg.data).name,
            "init": cfg.init or ""}
    save_colorizer(model, out / "model.safetensors", backbone_file=backbone_file, info=info)
    if improved:
        # Early stopping on the held-out sources: the best epoch so far, kept beside the last.
        save_colorizer(model, out / "best.safetensors", backbone_file=backbone_file, info=info)
