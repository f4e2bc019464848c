"""``vidcolor eval`` (single runs and the standard suite) and ``vidcolor sheet``, on tiny folders."""

import json

import cv2
import numpy as np
import pytest
from imgutil import gray_image, rgb_image
from PIL import Image
from skimage import color as skcolor

from vidcolor.cli import main
from vidcolor.evaluate import SHEET_THUMB, evaluate_suite, score_output
from vidcolor.train import data as D


def psnr_of(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR (dB) of two images in [0, 1], from its definition with numpy."""
    mse = np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)
    return float(10 * np.log10(1 / mse))


def gray_psnr_of(truth_u8: np.ndarray) -> float:
    """PSNR of the gray baseline (the truth's L* with a* = b* = 0), with scikit-image's L*a*b*."""
    lab = skcolor.rgb2lab(truth_u8 / 255)
    lab[..., 1:] = 0
    return psnr_of(skcolor.lab2rgb(lab), truth_u8 / 255)


def make_sources(root, counts: dict, side=(48, 64)):
    """``root/<source>/img_NN.jpg``: ``counts[source]`` colourful photos per source."""
    for source, n in counts.items():
        (root / source).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(rgb_image(*side, seed=len(source) + 3 * i)).save(root / source / f"img_{i:02d}.jpg",
                                                                             quality=95)
    return root


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    make_sources(root / "val", {"street": 2, "utkface_crop_part1": 1})
    make_sources(root / "val_ood", {"wallpapers": 2, "campus": 1})
    make_sources(root / "train", {"scenes_a": 2, "scenes_b": 3, "utkface_crop_part1": 1})
    return root


def test_eval_reports_per_source_and_contact_sheet(tmp_path, capsys):
    folder = make_sources(tmp_path / "photos", {"scenes_a": 3, "scenes_b": 2, "utkface_crop_part1": 2})
    report, sheet = tmp_path / "eval.json", tmp_path / "sheet.png"
    assert main(["eval", str(folder), "--size", "64", "--report", str(report), "--sheet", str(sheet), "-q"]) == 0
    result = json.loads(report.read_text())
    assert result["summary"]["faces"]["images"] == 2 and result["summary"]["scenes"]["images"] == 5
    assert {s: r["images"] for s, r in result["sources"].items()} == {"scenes_a": 3, "scenes_b": 2,
                                                                       "utkface_crop_part1": 2}
    assert result["settings"]["size"] == 64 and result["settings"]["model"]
    for row in result["images"]:
        assert row["l_change"] < 1.0
        truth = cv2.cvtColor(cv2.imread(row["file"]), cv2.COLOR_BGR2RGB)
        assert row["psnr_gray"] == pytest.approx(gray_psnr_of(truth), abs=0.01)
        assert row["gain_db"] == pytest.approx(row["psnr"] - gray_psnr_of(truth), abs=0.01)
    assert Image.open(sheet).size[0] == 3 * (SHEET_THUMB * 64 // 48 + 4)  # input | ours | truth
    out = capsys.readouterr().out
    assert out.index("all") < out.index("scenes") < out.index("scenes_a") < out.index("utkface_crop_part1")


def test_scores_match_numbers_computed_independently():
    truth = rgb_image(48, 64)  # levels 5 to 250
    ours = (truth.astype(int) + np.where(truth <= 250, 3, -3)).astype(np.uint8)  # every value 3 levels off
    row, written = score_output(ours / 255, truth)
    assert np.array_equal(written, ours)
    psnr = 20 * np.log10(255 / 3)  # MSE = (3 / 255)^2 exactly: 38.588 dB
    assert cv2.PSNR(ours, truth) == pytest.approx(psnr)  # (OpenCV agrees)
    assert row["psnr"] == pytest.approx(psnr, abs=1e-3)
    gray_psnr = gray_psnr_of(truth)
    assert 10 < gray_psnr < psnr - 5  # this colourful picture is far from its gray version
    assert row["psnr_gray"] == pytest.approx(gray_psnr, abs=0.01)
    assert row["gain_db"] == pytest.approx(psnr - gray_psnr, abs=0.01)
    # Closer to the truth gives more: 1 level off everywhere is 20 log10(255) dB, 9.54 dB better.
    row1, _ = score_output((truth.astype(int) + np.where(truth <= 250, 1, -1)) / 255, truth)
    assert row1["gain_db"] - row["gain_db"] == pytest.approx(20 * np.log10(3), abs=1e-3)


def test_single_files_count_under_their_folder(data_root, tmp_path):
    report = tmp_path / "eval.json"
    files = sorted((data_root / "val" / "street").iterdir())
    assert main(["eval", *map(str, files), "--size", "64", "--report", str(report), "-q"]) == 0
    assert {s: r["images"] for s, r in json.loads(report.read_text())["sources"].items()} == {"street": 2}


def test_suite_reports_the_three_sets(data_root, tmp_path, capsys):
    report, sheets = tmp_path / "suite.json", tmp_path / "sheets"
    assert main(["eval", "--data", str(data_root), "--size", "64", "--report", str(report),
                 "--sheet", str(sheets), "-q"]) == 0
    result = json.loads(report.read_text())
    tune = D.split_files(data_root / "train", "tune")
    assert 0 < len(tune) < 6
    assert {name: r["summary"]["all"]["images"] for name, r in result.items()} == {"val": 3, "val_ood": 3,
                                                                                   "tune": len(tune)}
    assert result["val"]["summary"]["faces"]["images"] == 1
    assert set(result["val_ood"]["sources"]) == {"wallpapers", "campus"}
    assert all(r["settings"]["model"] for r in result.values())
    assert sorted(p.name for p in sheets.iterdir()) == ["tune.jpg", "val.jpg", "val_ood.jpg"]
    out = capsys.readouterr().out
    assert "val_ood" in out and "wallpapers" in out and "street" not in out  # val: groups only


def test_suite_runs_chosen_sets_and_names_a_missing_folder(data_root, tmp_path, capsys):
    report = tmp_path / "suite.json"
    assert main(["eval", "--data", str(data_root), "--sets", "val_ood", "--size", "64",
                 "--report", str(report), "-q"]) == 0
    assert list(json.loads(report.read_text())) == ["val_ood"]
    assert main(["eval", "--data", str(data_root / "val"), "--sets", "val_ood", "-q"]) == 2
    assert str(data_root / "val" / "val_ood") in capsys.readouterr().err
    with pytest.raises(ValueError, match="nope"):
        evaluate_suite(None, data_root, ["val", "nope"])


@pytest.fixture
def old_photos(tmp_path):
    """Real old photos have no ground truth: a gray one, a sepia-tinted RGB scan, a 16-bit gray one."""
    folder = tmp_path / "old"
    folder.mkdir()
    gray = gray_image(64, 64)
    Image.fromarray(gray).save(folder / "a_gray.png")
    sepia = np.stack([gray, (gray * 0.85).astype(np.uint8), (gray * 0.65).astype(np.uint8)], axis=2)
    Image.fromarray(sepia).save(folder / "b_sepia.jpg")
    Image.fromarray(gray_image(64, 64, np.uint16, seed=2)).save(folder / "c_16bit.png")
    return folder


def test_sheet_shows_input_and_ours(old_photos, tmp_path, capsys):
    out = tmp_path / "sheet.jpg"
    assert main(["sheet", str(old_photos), "-o", str(out), "--size", "64", "--limit", "2", "-q"]) == 0
    w, h = Image.open(out).size
    assert w == 2 * (SHEET_THUMB + 4)  # two columns of square photos
    assert h == 26 + 2 * (22 + SHEET_THUMB + 6)  # header and two rows
    assert "2 photos" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["taken.jpg", "sheet.xyz"])
def test_a_failed_sheet_write_leaves_no_temporary_file(old_photos, tmp_path, capsys, name):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / name
    if name == "taken.jpg":
        target.mkdir()  # the rename onto a folder fails after the temporary file is written
    assert main(["sheet", str(old_photos), "-o", str(target), "--size", "64", "--limit", "1", "-q"]) == 2
    assert str(target) in capsys.readouterr().err
    assert [p.name for p in out_dir.iterdir()] == ([name] if target.is_dir() else [])


def test_tune_decoding_sweeps_the_tune_split_and_writes_the_choice(data_root, tmp_path, capsys):
    from vidcolor.decoding import BLENDS, GAINS, TEMPERATURES
    from vidcolor.weights import default_model_path, load_colorizer

    out = tmp_path / "tuned.safetensors"
    assert main(["tune-decoding", "--data", str(data_root), "-o", str(out), "--size", "64", "-q"]) == 0
    printed = capsys.readouterr().out
    held = D.tune_sources(["scenes_a", "scenes_b", "utkface_crop_part1"])
    assert f"tune split: {len(list((data_root / 'train' / next(iter(held))).iterdir()))} scene photos" in printed
    assert printed.count("\n") >= len(TEMPERATURES) * len(BLENDS) * len(GAINS)
    model, info = load_colorizer(out)
    shipped, shipped_info = load_colorizer(default_model_path())
    chosen = info["decoding"]
    config = model.config
    assert (config.temperature, config.blend, config.chroma_gain) == (chosen["temperature"], chosen["blend"],
                                                                       chosen["chroma_gain"])
    assert (f"chosen: temperature {chosen['temperature']}, blend {chosen['blend']}, "
            f"chroma gain {chosen['chroma_gain']}") in printed
    assert info["preset"] == shipped_info["preset"]  # the training info is kept
    for a, b in zip(model.state_dict().values(), shipped.state_dict().values()):
        assert np.array_equal(a.numpy(), b.numpy())


def test_decoding_choice_prefers_the_best_psnr_that_reaches_the_colour_target():
    from vidcolor.decoding import choose

    rows = [{"temperature": 1.0, "blend": 0.0, "gain_db": 1.0, "colourfulness_ratio": 0.5},
            {"temperature": 0.4, "blend": 0.5, "gain_db": 0.6, "colourfulness_ratio": 0.8},
            {"temperature": 0.2, "blend": 1.0, "gain_db": 0.2, "colourfulness_ratio": 1.0}]
    assert choose(rows)["blend"] == 0.5
    dull = [dict(r, colourfulness_ratio=r["colourfulness_ratio"] * 0.5) for r in rows]
    assert choose(dull)["blend"] == 1.0  # none reaches it: the least shortfall-penalised


def test_decoding_choice_leaves_out_settings_that_overdo_the_portraits():
    from vidcolor.decoding import choose

    def row(blend, gain_db, colour, portrait_colour):
        return {"temperature": 0.5, "blend": blend, "gain_db": gain_db, "colourfulness_ratio": colour,
                "portraits": {"gain_db": 0.0, "colourfulness_ratio": portrait_colour}}

    rows = [row(0.25, 0.9, 0.8, 1.1), row(0.5, 0.6, 0.8, 0.95), row(0.75, 0.8, 0.6, 0.9)]
    assert choose(rows)["blend"] == 0.5  # the best scenes would make skin more colourful than it is
    assert choose([dict(r, portraits={"gain_db": 0.0, "colourfulness_ratio": 0.9}) for r in rows])["blend"] == 0.25
    assert choose([row(0.25, 0.9, 0.8, 1.2)])["blend"] == 0.25  # none fits: the rule as without portraits


def test_the_tune_split_s_portraits_are_swept_apart(tmp_path, capsys):
    from vidcolor.decoding import tune_files

    root = tmp_path / "data"
    make_sources(root / "train", {"kodak_mcmaster": 3, "faces_misc": 2, "scenes_b": 4, "utkface_crop_part1": 1})
    files, portraits = tune_files(root)
    assert sorted(f.parent.name for f in files) == ["faces_misc"] * 2 + ["kodak_mcmaster"] * 3
    assert [f.parent.name for f in portraits] == ["faces_misc"] * 2
    out = tmp_path / "tuned.safetensors"
    assert main(["tune-decoding", "--data", str(root), "-o", str(out), "--size", "64", "-q", "--limit", "2"]) == 0
    printed = capsys.readouterr().out
    assert "tune split: 2 scene photos" in printed and "its 2 portraits apart" in printed
    table = [line.split() for line in printed.splitlines() if line[:1] == " " and line.split()[0][0].isdigit()]
    assert len(table) > 1 and all(len(cells) == 11 for cells in table)  # the portraits' gain and colour too


def test_false_colour_counts_pixels_a_viewer_would_call_invented_wrong_or_washed_out():
    import torch

    from vidcolor.color import lab_to_rgb
    from vidcolor.metrics import false_colour_counts

    def picture(ab):
        lab = torch.zeros(1, 3, 1, len(ab))
        lab[0, 0] = 50
        lab[0, 1:, 0] = torch.tensor(ab, dtype=torch.float32).T
        return lab_to_rgb(lab)

    # gray, gray, gray | red, red, blue, blue, blue
    truth = picture([(0, 0), (3, 2), (0, 0), (40, 10), (40, 10), (0, -40), (0, -40), (0, -40)])
    ours = picture([(0, 0), (-25, 5), (12, 0), (35, 14), (3, 2), (0, 40), (30, -30), (6, -5)])
    # gray kept; green painted (invented); a faint tint (not strong: not invented) | red right; red lost
    # (washed out); blue turned yellow (wrong hue); blue turned violet (45 degrees: not wrong); faint blue
    # (chroma 7.8: washed out, and too faint for its hue to count)
    counts = false_colour_counts(ours, truth)[0].tolist()
    assert counts == [3, 1, 5, 1, 2]  # neutral, invented, coloured, wrong hue, washed out


def test_a_set_s_false_colour_shares_weigh_every_photo_alike():
    from vidcolor.evaluate import summarise

    base = {"psnr": 20.0, "psnr_gray": 19.0, "gain_db": 1.0, "colourfulness": 30.0, "colourfulness_truth": 40.0,
            "l_change": 0.1}
    big = dict(base, neutral_px=1000, invented_px=100, coloured_px=1000, wrong_hue_px=0, washed_px=500)
    small = dict(base, neutral_px=10, invented_px=5, coloured_px=0, wrong_hue_px=0, washed_px=0)
    s = summarise([big, small])
    assert s["invented"] == pytest.approx((0.1 + 0.5) / 2)
    assert s["wrong_hue"] == 0 and s["washed_out"] == pytest.approx(0.5)  # the photo with no colour is left out


def test_decoding_choice_keeps_false_colour_within_its_caps():
    from vidcolor.decoding import FALSE_COLOUR_CAPS, choose

    fine = {k: cap / 2 for k, cap in FALSE_COLOUR_CAPS.items()}
    rows = [{"temperature": 0.38, "blend": 0.75, "hue_doubt": 0.0, "gain_db": 0.9, "colourfulness_ratio": 0.85,
             **fine, "invented": 0.15},
            {"temperature": 0.38, "blend": 0.75, "hue_doubt": 3.0, "gain_db": 0.7, "colourfulness_ratio": 0.8, **fine}]
    assert choose(rows)["hue_doubt"] == 3.0  # the better PSNR invents colour on 15 % of the gray
    assert choose([rows[0]])["hue_doubt"] == 0.0  # none fits: the least penalised
    dull = [dict(r, colourfulness_ratio=0.6) for r in rows]
    assert choose(dull)["hue_doubt"] == 3.0  # 0.07 over the cap costs 0.7 dB, more than the 0.2 dB gained
    # Within the caps but washed out loses to the colour target reached over a cap.
    washed = dict(rows[1], colourfulness_ratio=0.5, gain_db=1.5)
    assert choose([rows[0], washed]) is rows[0]
