"""Choose a model's decoding settings (annealing temperature, classification share, chroma gain,
hue doubt) on the tune split.

The network runs once per photo; every setting of the grid then only decodes, joins and scores,
exactly as ``vidcolor eval`` would. The rule: the largest PSNR gain over gray among the settings
whose colourfulness reaches the target share of the truth's and whose false colour (invented, wrong
hue, washed out) stays within the caps; when none is within them, the best of those reaching the
colour target by gain less 10 dB per unit of share over a cap (a duller picture never buys less
false colour); when none reaches the target, that less 5 dB per unit of colourfulness short of it. Settings that make the
tune split's portraits more colourful than the truth are left out first: the scenes' average hides
them, and skin beyond its true colour reads as an orange-brown cast.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .color import rgb_to_l
from .evaluate import SUITE, collect, evenly, score_output, summarise
from .train import data as D
from .train.loop import COLOURFULNESS_TARGET, tune_score

TEMPERATURES = (0.2, 0.3, 0.38, 0.5, 0.7, 1.0)
BLENDS = (0.0, 0.25, 0.5, 0.75, 1.0)
GAINS = (1.0, 1.2, 1.4)
DOUBTS = (0.0, 1.0, 3.0)  # see ModelConfig.hue_doubt; no effect where the blend is 0
# Shares of false colour a viewer notices, at most (see vidcolor.metrics), and what each point over costs.
FALSE_COLOUR_CAPS = {"invented": 0.08, "wrong_hue": 0.11, "washed_out": 0.16}  # issue 27's targets
OVER_CAP_DB = 10.0  # dB per unit of share over a cap: 0.1 dB a percentage point
PORTRAIT_MAX_COLOUR = 1.0  # of the truth's colourfulness


def sweep(colorizer, files: list[Path], portraits: list[Path] = (), temperatures=TEMPERATURES, blends=BLENDS,
          gains=GAINS, doubts=DOUBTS, progress: bool = True) -> list[dict]:
    """Summaries (as ``vidcolor eval`` makes them) of ``files`` for every (temperature, blend, gain,
    doubt), each with the summary of ``portraits`` under ``"portraits"`` when there are any."""
    grid = [(t, b, g, d) for t, b, g, d in itertools.product(temperatures, blends, gains, doubts)
            if b > 0 or d == doubts[0]]
    groups = {"files": set(files), "portraits": set(portraits)}
    scored: dict[str, list[list[dict]]] = {g: [[] for _ in grid] for g in groups}
    for f in tqdm(list(dict.fromkeys([*files, *portraits])), desc="decoding sweep", unit="img", disable=not progress):
        truth_u8 = D.read_rgb(f)
        L = rgb_to_l(torch.from_numpy(truth_u8).permute(2, 0, 1).float()[None] / 255)
        out = colorizer.heads(colorizer.network_input(L.to(colorizer.device)))
        for i, (t, b, g, d) in enumerate(grid):
            ab = colorizer.decode(out, t, b, g, d)[0].float()
            row = score_output(colorizer.join_to_numpy(L[0], ab, np.dtype(np.float32)), truth_u8)[0]
            for name, members in groups.items():
                if f in members:
                    scored[name][i].append(row)
    return [{"temperature": t, "blend": b, "chroma_gain": g, "hue_doubt": d, **summarise(r),
             **({"portraits": summarise(q)} if portraits else {})}
            for (t, b, g, d), r, q in zip(grid, scored["files"], scored["portraits"])]


def over_caps(row: dict) -> float:
    """How far ``row``'s false-colour shares go over :data:`FALSE_COLOUR_CAPS`, summed (0: within; a
    share missing, or NaN for want of pixels to judge, counts as within)."""
    return sum(row[k] - cap for k, cap in FALSE_COLOUR_CAPS.items() if row.get(k, 0.0) > cap)


def choose(rows: list[dict]) -> dict:
    """The chosen row (see the module's rule)."""
    rows = [r for r in rows if "portraits" not in r
            or r["portraits"]["colourfulness_ratio"] <= PORTRAIT_MAX_COLOUR] or rows
    # Colour first: false colour is never traded for a washed-out picture.
    reaching = [r for r in rows if r["colourfulness_ratio"] >= COLOURFULNESS_TARGET]
    fitting = [r for r in reaching if not over_caps(r)]
    if fitting:
        return max(fitting, key=lambda r: r["gain_db"])
    return max(reaching or rows, key=lambda r: tune_score({"scenes": r}) - OVER_CAP_DB * over_caps(r))


def tune_files(data_root: Path, limit: int | None = None) -> tuple[list[Path], list[Path]]:
    """The tune set's scene photos (held-out sources of ``train/``), spread evenly up to ``limit``,
    and all of its portraits (:data:`~vidcolor.train.data.PORTRAIT_SOURCES`)."""
    spec = SUITE["tune"]
    folder = Path(data_root) / spec.folder
    found = collect([folder], spec.split)
    files = [f for f, source in found if not D.is_face(source)]
    if not files:
        raise ValueError(f"{folder}: no tune-split scene photos (held-out sources) found")
    return [files[i] for i in evenly(len(files), limit)], [f for f, s in found if s in D.PORTRAIT_SOURCES]
