"""Weight files: safetensors only, strict keys, and an error that names the file for every fault."""

import json
import os
import pickle
import shutil
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from vidcolor import weights as W
from vidcolor.model import FusionColorizer, ModelConfig, create_backbone, trainable_state_dict
from vidcolor.weights import WeightsError

CONFIG = ModelConfig(head="hybrid", norm="none", embedding="pooled", ab_grid=12.0, temperature=0.6, blend=0.3)
INFO = {"preset": "test", "epochs": 3, "note": "round trip ✓"}


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return FusionColorizer(CONFIG).eval()


@pytest.fixture(scope="module")
def saved(model, tmp_path_factory) -> Path:
    """A colorizer file written by ``save_colorizer`` (its backbone comes from the shipped assets)."""
    path = tmp_path_factory.mktemp("weights") / "model.safetensors"
    W.save_colorizer(model, path, info=INFO)
    return path


@pytest.fixture(scope="module")
def shipped_backbone(assets) -> Path:
    return assets / W.DEFAULT_BACKBONE


def read_raw(path: Path) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    with safe_open(str(path), framework="pt") as f:
        return dict(f.metadata()), {k: f.get_tensor(k) for k in f.keys()}


def rewrite(src: Path, dst: Path, edit_tensors=None, edit_meta=None) -> Path:
    meta, tensors = read_raw(src)
    if edit_tensors:
        edit_tensors(tensors)
    if edit_meta:
        edit_meta(meta)
    save_file(tensors, str(dst), metadata=meta)
    return dst


def load_any(path: Path, kind: str):
    if kind == "colorizer":
        return W.load_colorizer(path)
    return W.load_backbone(create_backbone(ModelConfig()), path, ModelConfig())


def expect_error(path: Path, kind: str = "colorizer", match: str | None = None) -> WeightsError:
    with pytest.raises(WeightsError) as info:
        load_any(path, kind)
    message = str(info.value)
    assert str(path) in message, message
    assert "\n" not in message
    if match:
        assert match in message, message
    return info.value


# -- round trip -----------------------------------------------------------------------------------
def test_round_trip_keeps_config_info_and_weights(model, saved):
    loaded, info = W.load_colorizer(saved)
    assert loaded.config == CONFIG
    assert info == INFO
    assert not loaded.training
    ours, theirs = trainable_state_dict(model), trainable_state_dict(loaded)
    assert set(ours) == set(theirs)
    for k, v in ours.items():
        # Files hold fp16; what comes back is the fp16 rounding of what was saved.
        expected = v.half().to(v.dtype) if v.is_floating_point() else v
        assert torch.equal(theirs[k], expected), k
    # The backbone is the shipped one, not the random initialisation of the saved model.
    _, backbone = read_raw(W.resolve_backbone(W.DEFAULT_BACKBONE))
    for k, v in loaded.backbone.state_dict().items():
        assert torch.equal(v, backbone[k].to(v.dtype)), k


def test_saved_file_is_plain_safetensors_with_a_header(saved):
    meta, tensors = read_raw(saved)
    assert meta["format"] == W.KIND_COLORIZER and meta["version"] == W.FORMAT_VERSION
    assert ModelConfig.from_dict(json.loads(meta["config"])) == CONFIG
    assert meta["backbone_file"] == W.DEFAULT_BACKBONE
    assert not any(k.startswith("backbone.") for k in tensors)
    assert all(t.dtype == torch.float16 for t in tensors.values() if t.is_floating_point())
    umask = os.umask(0)
    os.umask(umask)
    assert saved.stat().st_mode & 0o777 == 0o666 & ~umask  # like any file we write, not private
    assert [p.name for p in saved.parent.iterdir()] == [saved.name]  # no temporary left behind


def test_backbone_round_trip(tmp_path):
    torch.manual_seed(1)
    net = FusionColorizer(ModelConfig()).backbone
    path = tmp_path / "bb.safetensors"
    W.save_backbone(net, path, ModelConfig(), source="unit test")
    other = FusionColorizer(ModelConfig()).backbone
    W.load_backbone(other, path, ModelConfig())
    for k, v in net.state_dict().items():
        expected = v.half().to(v.dtype) if v.is_floating_point() else v
        assert torch.equal(other.state_dict()[k], expected), k
    assert read_raw(path)[0]["source"] == "unit test"


def test_shipped_model_loads(assets):
    model, info = W.load_colorizer()
    assert W.default_model_path() == assets / W.DEFAULT_MODEL
    assert isinstance(model, FusionColorizer) and not model.training
    assert isinstance(info, dict)


# -- never unpickles ------------------------------------------------------------------------------
class _Exploit:
    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return os.mkdir, (self.marker,)


@pytest.mark.parametrize("kind", ["colorizer", "backbone"])
def test_pickles_are_refused_without_running_them(tmp_path, kind):
    marker = tmp_path / "pwned"
    raw = tmp_path / "raw.safetensors"
    raw.write_bytes(pickle.dumps({"state": _Exploit(marker)}))
    expect_error(raw, kind)
    zipped = tmp_path / "torch.safetensors"
    torch.save({"state": _Exploit(marker)}, zipped)
    expect_error(zipped, kind)
    assert not marker.exists()


def test_loading_uses_no_pickle(saved, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("weights must not be unpickled")

    for mod, name in ((pickle, "load"), (pickle, "loads"), (pickle, "Unpickler"), (torch, "load")):
        monkeypatch.setattr(mod, name, refuse)
    model, info = W.load_colorizer(saved)
    assert model.config == CONFIG and info == INFO


# -- strict keys and damaged files ---------------------------------------------------------------
def _drop_one(t):
    t.pop("encoder.0.weight")


def _add_one(t):
    t["encoder.99.weight"] = torch.zeros(3)


def _reshape_one(t):
    t["fusion.0.weight"] = torch.zeros(256, 7, 1, 1, dtype=torch.float16)


@pytest.mark.parametrize("edit, match", [(_drop_one, "missing"), (_add_one, "unexpected"),
                                         (_reshape_one, "wrong shape")])
def test_colorizer_keys_must_match_exactly(saved, tmp_path, edit, match):
    path = rewrite(saved, tmp_path / "edited.safetensors", edit_tensors=edit)
    err = expect_error(path, match=match)
    assert "do not match" in str(err)


def test_backbone_key_in_a_colorizer_file_is_unexpected(saved, shipped_backbone, tmp_path):
    _, bb = read_raw(shipped_backbone)
    name = next(iter(bb))
    path = rewrite(saved, tmp_path / "edited.safetensors",
                   edit_tensors=lambda t: t.__setitem__(f"backbone.{name}", bb[name]))
    expect_error(path, match="unexpected")


@pytest.mark.parametrize("edit, match", [(_drop_one, "missing"), (_add_one, "unexpected"),
                                         (_reshape_one, "wrong shape")])
def test_backbone_keys_must_match_exactly(shipped_backbone, tmp_path, edit, match):
    def backbone_edit(t):
        key = "conv_stem.weight"
        if edit is _drop_one:
            t.pop(key)
        elif edit is _add_one:
            t["extra.weight"] = torch.zeros(3)
        else:
            t[key] = torch.zeros(1, 2, 3, 3)

    path = rewrite(shipped_backbone, tmp_path / "bb.safetensors", edit_tensors=backbone_edit)
    expect_error(path, "backbone", match=match)


@pytest.mark.parametrize("kind, src", [("colorizer", "backbone"), ("backbone", "colorizer")])
def test_wrong_kind_is_refused(saved, shipped_backbone, kind, src):
    path = shipped_backbone if src == "backbone" else saved
    expect_error(path, kind, match=f"expected a vidcolor-{kind}")


def test_missing_header_is_refused(saved, tmp_path):
    _, tensors = read_raw(saved)
    path = tmp_path / "bare.safetensors"
    save_file(tensors, str(path))
    expect_error(path, match="header says None")


@pytest.mark.parametrize("version", ["0", "2", ""])
def test_other_format_versions_are_refused(saved, tmp_path, version):
    path = rewrite(saved, tmp_path / "v.safetensors", edit_meta=lambda m: m.update(version=version))
    expect_error(path, match="format version")


@pytest.mark.parametrize("config", ["{not json", json.dumps({"head": "everything"}),
                                    json.dumps({"colour": True}), None])
def test_bad_config_header_is_refused(saved, tmp_path, config):
    def edit(meta):
        if config is None:
            meta.pop("config")
        else:
            meta["config"] = config

    path = rewrite(saved, tmp_path / "c.safetensors", edit_meta=edit)
    expect_error(path, match="config")


def test_config_must_fit_the_tensors(saved, tmp_path):
    # The header describes a different network than the tensors hold.
    def edit(meta):
        meta["config"] = json.dumps({**json.loads(meta["config"]), "embedding": "logits"})

    path = rewrite(saved, tmp_path / "c.safetensors", edit_meta=edit)
    expect_error(path, match="wrong shape")


@pytest.mark.parametrize("kind", ["colorizer", "backbone"])
@pytest.mark.parametrize("damage", ["truncated", "header only", "random", "empty", "text", "missing", "folder"])
def test_damaged_files_are_refused(saved, shipped_backbone, tmp_path, kind, damage):
    good = (saved if kind == "colorizer" else shipped_backbone).read_bytes()
    path = tmp_path / f"{damage}.safetensors"
    if damage == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif damage == "header only":
        path.write_bytes(good[: 8 + int.from_bytes(good[:8], "little")])
    elif damage == "random":
        path.write_bytes(os.urandom(4096))
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "text":
        path.write_text("this is not a weight file\n")
    elif damage == "folder":
        path.mkdir()
    expect_error(path, kind)


def test_wrong_backbone_architecture_is_refused(shipped_backbone):
    cfg = ModelConfig(backbone="mobilenetv2_050")
    net = FusionColorizer(cfg).backbone
    with pytest.raises(WeightsError, match="model needs 'mobilenetv2_050'") as info:
        W.load_backbone(net, shipped_backbone, cfg)
    assert str(shipped_backbone) in str(info.value)


# -- backbone file resolution --------------------------------------------------------------------
def test_backbone_is_found_beside_the_model_first(saved, shipped_backbone, tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    model = folder / "model.safetensors"
    shutil.copy(saved, model)
    assert W.resolve_backbone(W.DEFAULT_BACKBONE, near=model) == W.assets_dir() / W.DEFAULT_BACKBONE
    shutil.copy(shipped_backbone, folder / W.DEFAULT_BACKBONE)
    assert W.resolve_backbone(W.DEFAULT_BACKBONE, near=model) == folder / W.DEFAULT_BACKBONE
    assert W.resolve_backbone(W.DEFAULT_BACKBONE) == W.assets_dir() / W.DEFAULT_BACKBONE


def test_named_backbone_beside_the_model_is_used(saved, shipped_backbone, tmp_path):
    model_path = tmp_path / "model.safetensors"
    rewrite(saved, model_path, edit_meta=lambda m: m.update(backbone_file="my_backbone.safetensors"))
    with pytest.raises(WeightsError, match="my_backbone.safetensors"):
        W.load_colorizer(model_path)
    # A backbone beside the model that is damaged is reported by its own name.
    (tmp_path / "my_backbone.safetensors").write_bytes(b"\0" * 100)
    with pytest.raises(WeightsError, match="my_backbone.safetensors"):
        W.load_colorizer(model_path)
    shutil.copy(shipped_backbone, tmp_path / "my_backbone.safetensors")
    model, _ = W.load_colorizer(model_path)
    assert model.config == CONFIG


def test_missing_backbone_is_an_error():
    with pytest.raises(WeightsError, match="no_such_backbone.safetensors"):
        W.resolve_backbone("no_such_backbone.safetensors")


def test_a_trained_model_refuses_a_headerless_backbone_file(tmp_path):
    """Plain timm state dicts are for starting training, never for a shipped model's backbone."""
    from safetensors.torch import save_file

    from vidcolor.weights import WeightsError, load_colorizer, save_colorizer

    model, _ = load_colorizer()
    save_colorizer(model, tmp_path / "m.safetensors", backbone_file="bb.safetensors")
    save_file({k: v.contiguous() for k, v in model.backbone.state_dict().items()}, str(tmp_path / "bb.safetensors"))
    with pytest.raises(WeightsError, match="bb.safetensors"):
        load_colorizer(tmp_path / "m.safetensors")
