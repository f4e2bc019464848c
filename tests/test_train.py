"""Training data, losses, exact resume, continuing from shipped weights, and the eval commands."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vidcolor.cli import main
from vidcolor.model import ab_gamut_bins, trainable_state_dict
from vidcolor.train import data as D
from vidcolor.train.loop import TrainConfig, evaluate, train, tune_images, tune_score
from vidcolor.train.losses import ab_prior, classification_loss, rebalance_weights
from vidcolor.weights import default_model_path, load_colorizer


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory):
    """A tiny 'train/' folder: two scene sources and a face source, colourful gradients."""
    root = tmp_path_factory.mktemp("train")
    rng = np.random.default_rng(0)
    for source, n in (("scenes_a", 10), ("scenes_b", 8), ("utkface_crop_part1", 6)):
        (root / source).mkdir()
        for i in range(n):
            h, w = rng.integers(40, 70, size=2)
            base = rng.random((3, 3, 3))
            img = np.asarray(Image.fromarray((base * 255).astype(np.uint8)).resize((w, h), Image.BILINEAR))
            Image.fromarray(img).save(root / source / f"img_{i:02d}.jpg", quality=95)
    return root


@pytest.fixture(scope="module")
def pack(photo_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("pack")
    assert main(["pack", str(photo_folder), str(out), "--side", "48", "-q"]) == 0
    return out


def test_holdout_split_is_deterministic_and_disjoint(photo_folder):
    train_files = D.split_files(photo_folder, "train")
    tune_files = D.split_files(photo_folder, "tune")
    assert set(train_files).isdisjoint(tune_files)
    assert len(train_files) + len(tune_files) == len(D.list_images(photo_folder))
    assert D.split_files(photo_folder, "tune") == tune_files


def test_pack_round_trip(pack, photo_folder):
    images, sources = D.load_pack(pack / "train")
    assert images.dtype == torch.uint8 and images.shape[1:] == (3, 48, 48)
    assert len(images) == len(D.split_files(photo_folder, "train"))
    assert {"scenes_a", "scenes_b", "utkface_crop_part1"} >= set(sources)


def test_sources_are_balanced_by_a_power_of_their_size():
    sources = ["big"] * 900 + ["small"] * 100
    share = lambda w, name: float(w[[s == name for s in sources]].sum() / w.sum())
    assert share(D.sample_weights(sources, 1.0), "big") == pytest.approx(0.9)
    assert share(D.sample_weights(sources, 0.5), "big") == pytest.approx(30 / 40)
    assert share(D.sample_weights(sources, 0.0), "big") == pytest.approx(0.5)
    w = D.sample_weights(sources, 0.5)
    assert torch.allclose(w[:900], w[0]) and w[-1] > w[0]  # equal within a source, rarer photos drawn more


def test_face_crops_keep_their_share_however_many_other_sources_there_are():
    for others in (3, 30):
        sources = ["utkface_crop_part1"] * 900 + [f"scenes_{i}" for i in range(others) for _ in range(100)]
        w = D.sample_weights(sources, 0.5, face_share=0.1)
        faces = torch.tensor([D.is_face(s) for s in sources])
        assert float(w[faces].sum() / w.sum()) == pytest.approx(0.1)
        assert float(w.sum()) == pytest.approx(len(sources))
        scenes = w[~faces].view(others, 100).sum(1)
        assert torch.allclose(scenes, scenes[0])  # the other sources as balance draws them


def test_tune_split_holds_out_whole_sources(photo_folder):
    tune = D.split_files(photo_folder, "tune")
    held = {D.source_of(f, photo_folder) for f in tune}
    assert len(held) == 1 and not D.is_face(next(iter(held)))
    train_sources = {D.source_of(f, photo_folder) for f in D.split_files(photo_folder, "train")}
    assert held.isdisjoint(train_sources)
    # In our data the named sources are held out, and only they.
    named = ["deep_photo_style_examples", "kodak_mcmaster", "camvid", "utkface_crop_part1"]
    assert D.tune_sources(named) == {"deep_photo_style_examples", "kodak_mcmaster"}


def test_augment_crops_flips_and_rescales():
    img = torch.zeros(1, 3, 64, 64, dtype=torch.uint8)
    img[..., :32] = 255  # left half white
    g = torch.Generator().manual_seed(0)
    crops = D.augment(img.expand(64, -1, -1, -1), 32, g)
    assert crops.shape == (64, 3, 32, 32) and 0 <= crops.min() and crops.max() <= 1
    left, right = crops[..., :4].mean((1, 2, 3)), crops[..., -4:].mean((1, 2, 3))
    assert (left > right).any() and (right > left).any()  # some crops are mirrored


def test_folder_crops_in_worker_processes(photo_folder):
    ds = D.FolderCrops(D.split_files(photo_folder, "train"), crop=24)
    loader = torch.utils.data.DataLoader(ds, batch_size=4, num_workers=2)
    batch = next(iter(loader))
    assert batch.shape == (4, 3, 24, 24) and batch.dtype == torch.uint8


def test_classification_loss_prefers_the_right_bin():
    bins = ab_gamut_bins(10.0)
    ab = torch.tensor([40.0, -30.0]).view(1, 2, 1, 1).expand(1, 2, 4, 4)
    target = torch.cdist(torch.tensor([[40.0, -30.0]]), bins).argmin()
    good = torch.zeros(1, len(bins), 4, 4)
    good[:, target] = 10
    bad = torch.zeros(1, len(bins), 4, 4)
    bad[:, (target + 50) % len(bins)] = 10
    assert classification_loss(good, ab, bins, None) < classification_loss(bad, ab, bins, None)


def test_rebalancing_weights_favour_rare_colours():
    bins = ab_gamut_bins(10.0)
    ab = torch.zeros(4, 2, 8, 8)
    ab[0] = 60.0  # one saturated image among grays
    prior = ab_prior(ab, bins)
    w = rebalance_weights(prior)
    assert torch.isclose((prior * w).sum(), torch.tensor(1.0))
    grey = torch.cdist(torch.zeros(1, 2), bins).argmin()
    vivid = torch.cdist(torch.full((1, 2), 60.0), bins).argmin()
    assert w[vivid] > w[grey]


def _cfg(pack, out, **kw):
    return TrainConfig(data=str(pack / "train"), out=str(out), epochs=2, batch=4, crop=32, workers=0,
                       device="cpu", **kw)


def test_resume_is_exact(pack, tmp_path):
    straight = _cfg(pack, tmp_path / "straight")
    train(straight, progress=False)
    resumed = _cfg(pack, tmp_path / "resumed")
    first = train(resumed, progress=False, stop_after=1)
    assert first["epoch"] == 1
    last = train(resumed, progress=False)  # a second call resumes from last.pt
    assert last["epoch"] == 2
    a = torch.load(tmp_path / "straight" / "last.pt", weights_only=True)
    b = torch.load(tmp_path / "resumed" / "last.pt", weights_only=True)
    for part in ("model", "ema"):
        for k in a[part]:
            assert torch.equal(a[part][k], b[part][k]), (part, k)
    lines = [json.loads(x) for x in (tmp_path / "resumed" / "log.jsonl").read_text().splitlines()]
    assert [x["epoch"] for x in lines] == [1, 2]
    assert "scenes" in lines[-1]["tune"] or "faces" in lines[-1]["tune"]
    model, info = load_colorizer(tmp_path / "resumed" / "model.safetensors")
    assert info["epochs"] == 2 and info["preset"] == "vidcolor"


def _distance(saved: dict, ckpt_part: dict, prefix: str = "") -> float:
    return sum(float((v.float() - ckpt_part[prefix + k].float()).pow(2).sum()) for k, v in saved.items()
               if v.is_floating_point() and "running_" not in k)


def test_the_saved_weights_are_the_moving_average_of_the_steps(pack, tmp_path):
    last = train(_cfg(pack, tmp_path / "run", ema=0.9), progress=False)
    ckpt = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert int(ckpt["ema"]["n_averaged"]) == last["step"]
    saved, _ = load_colorizer(tmp_path / "run" / "model.safetensors")
    state = trainable_state_dict(saved)
    # Saved in fp16, so not exactly either: far nearer the average than the last step's weights.
    to_average, to_last = _distance(state, ckpt["ema"], "module."), _distance(state, ckpt["model"])
    assert to_average * 4 < to_last
    # The average is what the tune split scored: the same numbers again from the saved file.
    images, sources = tune_images(pack / "train", 32, torch.device("cpu"))
    again = evaluate(saved.train(), images, sources, None)
    assert again["scenes"]["gain_db"] == pytest.approx(last["tune"]["scenes"]["gain_db"], abs=0.05)

    train(_cfg(pack, tmp_path / "plain", ema=0.0), progress=False)
    ckpt = torch.load(tmp_path / "plain" / "last.pt", weights_only=True)
    assert "ema" not in ckpt
    saved, _ = load_colorizer(tmp_path / "plain" / "model.safetensors")
    for k, v in trainable_state_dict(saved).items():
        assert torch.allclose(v.float(), ckpt["model"][k].float(), rtol=1e-3, atol=1e-3), k


def test_resume_refuses_other_settings(pack, tmp_path):
    train(_cfg(pack, tmp_path / "run"), progress=False, stop_after=1)
    with pytest.raises(ValueError, match="other settings"):
        train(_cfg(pack, tmp_path / "run", lr=5e-4), progress=False)


def test_paper_preset_and_continuing_from_shipped_weights(pack, tmp_path):
    paper = train(_cfg(pack, tmp_path / "paper", preset="paper"), progress=False, stop_after=1)
    assert "cls" not in paper and paper["reg"] > 0
    model, _ = load_colorizer(tmp_path / "paper" / "model.safetensors")
    assert model.config.head == "regression" and model.config.norm == "none"
    shipped, _ = load_colorizer()
    cont = train(_cfg(pack, tmp_path / "cont", init=str(default_model_path())), progress=False, stop_after=1)
    assert cont["epoch"] == 1
    tuned, info = load_colorizer(tmp_path / "cont" / "model.safetensors")
    assert info["init"].endswith("vidcolor_mobilenetv2.safetensors")
    assert tuned.config == shipped.config


@pytest.fixture(scope="module")
def fusion_weights(pack, tmp_path_factory):
    """A fusion network (the paper's encoder beside the backbone's maps) trained for an epoch."""
    out = tmp_path_factory.mktemp("fusion")
    train(_cfg(pack, out, arch="fusion"), progress=False, stop_after=1)
    return out / "model.safetensors"


def test_a_frozen_encoder_prefix_keeps_its_weights_and_statistics_while_the_rest_learns(pack, tmp_path,
                                                                                         fusion_weights):
    shipped = trainable_state_dict(load_colorizer(fusion_weights)[0])
    train(_cfg(pack, tmp_path / "run", init=str(fusion_weights), ema=0.0, freeze_encoder=6), progress=False)
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=True)["model"]
    convs = [k for k in shipped if k.startswith("encoder.") and k.endswith(".weight") and shipped[k].dim() == 4]
    cut = int(convs[6].split(".")[1])  # the seventh convolution's index: the first one trained
    for k, v in shipped.items():
        if not v.is_floating_point():
            continue
        same = torch.equal(state[k].to(v.dtype), v)
        if k.startswith("encoder.") and int(k.split(".")[1]) < cut:
            assert same, k  # weights and batch-norm running statistics alike
    assert not torch.equal(state[convs[6]].to(shipped[convs[6]].dtype), shipped[convs[6]])
    assert not torch.equal(state["fusion.0.weight"].to(shipped["fusion.0.weight"].dtype), shipped["fusion.0.weight"])
    with pytest.raises(ValueError, match="other settings"):
        train(_cfg(pack, tmp_path / "run", init=str(fusion_weights), ema=0.0, freeze_encoder=4), progress=False)
    with pytest.raises(ValueError, match="between 0 and 8"):
        train(_cfg(pack, tmp_path / "bad", arch="fusion", freeze_encoder=9), progress=False)


def test_eval_video_shows_smoothing_lowers_the_warping_error(tmp_path, assets, capsys):
    """A frame folder (a colour picture moving right) and a video file (the shipped silent-film
    sample, its first half second): smoothing 0.8 makes the a*b* warping error of each clip far
    lower than colourising every frame on its own (strength 0)."""
    clip = tmp_path / "clip"
    clip.mkdir()
    rng = np.random.default_rng(1)
    base = np.asarray(Image.fromarray((rng.random((4, 4, 3)) * 255).astype(np.uint8)).resize((96, 64), Image.BILINEAR))
    for i in range(6):
        Image.fromarray(np.roll(base, 2 * i, axis=1)).save(clip / f"{i:05d}.png")
    film = assets / "samples" / "chaplin_silent_film.mp4"
    report = tmp_path / "video.json"
    assert main(["eval-video", str(clip), str(film), "--strengths", "0,0.8", "--max-frames", "12",
                 "--max-side", "160", "--size", "64", "--report", str(report), "-q"]) == 0
    result = json.loads(report.read_text())
    s = result["summary"]
    assert s["clips"] == 2
    for key in ("strength_0", "strength_0.8"):
        assert {"psnr", "warp_rgb", "warp_ab", "cdc", "warp_ab_vs_truth"} <= set(s[key])
    assert s["truth"]["cdc"] >= 0
    assert set(result["clips"]) == {str(clip), str(film)}
    for name, row in result["clips"].items():
        assert row["frames"] == (6 if name == str(clip) else 12)
        per_frame, smoothed = row["strength_0"]["warp_ab"], row["strength_0.8"]["warp_ab"]
        assert per_frame > 0.5, (name, per_frame)  # per-frame colour does flicker here
        assert smoothed < 0.5 * per_frame, (name, smoothed, per_frame)
    assert s["strength_0.8"]["warp_ab"] < 0.5 * s["strength_0"]["warp_ab"]


def test_the_papers_inception_backbone_trains_from_a_plain_timm_weight_file(pack, tmp_path):
    """Inception-ResNet-v2 weights as timm or Hugging Face store them (no vidcolor header)."""
    import timm
    from safetensors.torch import save_file

    plain = tmp_path / "inception_resnet_v2.safetensors"
    net = timm.create_model("inception_resnet_v2", pretrained=False, num_classes=1000)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(plain))
    cfg = _cfg(pack, tmp_path / "irv2", backbone="inception_resnet_v2", backbone_weights=str(plain))
    train(cfg, progress=False, stop_after=1)
    model, _ = load_colorizer(tmp_path / "irv2" / "model.safetensors")  # finds backbone.safetensors beside it
    assert model.config.backbone == "inception_resnet_v2" and model.config.backbone_size == 299
    assert torch.equal(model.backbone.state_dict()["conv2d_1a.conv.weight"],
                       net.state_dict()["conv2d_1a.conv.weight"].half().float())


def test_training_straight_from_a_folder_on_the_cpu(photo_folder, tmp_path):
    """docs/training.md's CPU command: no pack, crops decoded in worker processes (the colour prior's
    batches once asked numpy for a generator seeded with a negative epoch)."""
    cfg = TrainConfig(data=str(photo_folder), out=str(tmp_path / "folder"), epochs=1, batch=4, crop=32,
                      workers=1, device="cpu")
    last = train(cfg, progress=False)
    assert last["epoch"] == 1 and last["loss"] > 0 and last["tune"]
    model, _ = load_colorizer(tmp_path / "folder" / "model.safetensors")
    assert model.config.hints and model.config.arch == "unet" and model.config.fuse_strides == (4, 8, 16, 32)


def test_the_papers_encoder_is_still_trainable_beside_the_light_decoder(pack, tmp_path, fusion_weights):
    model, _ = load_colorizer(fusion_weights)
    assert model.config.arch == "fusion" and hasattr(model, "encoder") and model.config.fuse_strides == (8, 16, 32)
    with pytest.raises(ValueError, match="encoder of its own"):
        train(_cfg(pack, tmp_path / "unet", freeze_encoder=2), progress=False)


def test_webp_pack_round_trip(photo_folder, tmp_path):
    files = D.split_files(photo_folder, "train")
    index = D.write_pack(files, photo_folder, tmp_path / "w", side=40, quality=90, codec="webp")
    images, sources = D.load_pack(tmp_path / "w")
    assert index["codec"] == "webp" and images.shape == (len(files), 3, 40, 40)
    first = torch.from_numpy(D.square(D.read_rgb(files[0]), 40)).permute(2, 0, 1).float()
    assert (images[0].float() - first).abs().mean() < 4
    with pytest.raises(ValueError, match="codec"):
        D.write_pack(files, photo_folder, tmp_path / "x", codec="gif")


def test_early_stopping_score_wants_colour_as_well_as_psnr():
    dull = {"scenes": {"gain_db": 0.8, "colourfulness_ratio": 0.35}}
    vivid = {"scenes": {"gain_db": 0.6, "colourfulness_ratio": 0.7}}
    assert tune_score(vivid) > tune_score(dull)
    assert tune_score({"scenes": {"gain_db": 0.6, "colourfulness_ratio": 0.9}}) == pytest.approx(0.6)


def test_a_spent_time_budget_ends_the_run_after_the_second_epoch(pack, tmp_path):
    cfg = _cfg(pack, tmp_path / "budget", minutes=1e-4)
    cfg.epochs = 30
    last = train(cfg, progress=False)
    assert last["epoch"] == 2 and last["epochs"] == 2


def test_a_resumed_run_fits_the_rest_of_its_schedule_to_the_new_sessions_time(pack, tmp_path):
    cfg = _cfg(pack, tmp_path / "campaign")
    cfg.epochs = 30
    train(cfg, progress=False, stop_after=1)  # the first session: one epoch of thirty
    cfg.minutes = 1e-4  # the next session has almost no time: two epochs to measure its pace, then the end
    last = train(cfg, progress=False)
    assert last["epoch"] == 3 and last["epochs"] == 3
    log = [json.loads(line) for line in (tmp_path / "campaign" / "log.jsonl").read_text().splitlines()]
    assert [e["epochs"] for e in log] == [30, 30, 3]  # the first session's plan stood until then


def test_a_failed_pack_names_the_file_and_leaves_no_temporary_files(photo_folder, tmp_path):
    bad = tmp_path / "src"
    (bad / "scenes_a").mkdir(parents=True)
    for f in D.list_images(photo_folder / "scenes_a")[:3]:
        (bad / "scenes_a" / f.name).write_bytes(f.read_bytes())
    (bad / "scenes_a" / "broken.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match="broken.jpg"):
        D.write_pack(D.list_images(bad), bad, tmp_path / "pack")
    assert list((tmp_path / "pack").iterdir()) == []


def test_a_failed_checkpoint_save_leaves_no_temporary_file(tmp_path, monkeypatch):
    from vidcolor.train import loop

    def failing_save(obj, path):
        Path(path).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(loop.torch, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        loop._atomic_torch_save({}, tmp_path / "last.pt")
    assert list(tmp_path.iterdir()) == []
