"""Choose vidcolor.reference.MATCH on the tune split (held-out sources of train/; never val/ or
val_ood/): every setting of a small grid scored on the same pairs, the automatic results made once.

    python scripts/tune_reference.py --limit 40 --report runs/tune_reference.json

Rule: the best mean gain on same-scene pairs among the settings whose unrelated and look-alike
pairs each lose no more than 0.1 dB on average (half the 0.2 dB the product allows, as margin
for sources never seen); of those within 0.05 dB of it, the one that takes the fewest hints from
photos of something else."""

from __future__ import annotations

import argparse
import itertools
import json
import time
from dataclasses import asdict, replace
from pathlib import Path

from vidcolor.engine import Colorizer
from vidcolor.reference import MATCH
from vidcolor.reference_eval import DIFFERENT, KINDS, score_pairs, suite_pairs, summarise
from vidcolor.threads import cpu_name

# Three grids were run (docs/how-it-works.md): similarity 0.5/0.6/0.7 chose 0.6; a check of each
# colour against the network's own distribution and gates on the count or share of sure matches
# gained nothing once the coherence gate below was there, and were removed.
GRID = {
    "min_similarity": (0.5, 0.6, 0.7),
    "min_coherent": (0.0, 0.02, 0.04, 0.06, 0.08),
}
UNRELATED_FLOOR = -0.1
TIE_DB = 0.05


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--limit", type=int, default=40, help="photos and clips each, spread evenly")
    ap.add_argument("--report", type=Path)
    args = ap.parse_args()
    colorizer = Colorizer.from_pretrained(device="cpu")
    pairs = suite_pairs(args.data, "tune", args.limit)
    print(f"{len(pairs)} pairs: " + ", ".join(f"{k} {sum(p.kind == k for p in pairs)}" for k in KINDS)
          + f"  ({cpu_name()})")
    results = []
    for values in itertools.product(*GRID.values()):
        match = replace(MATCH, **dict(zip(GRID, values)))
        t0 = time.perf_counter()
        rows, _ = score_pairs(colorizer, pairs, match, progress=False)
        same = summarise([r for r in rows if r["kind"] not in DIFFERENT])
        different = {k: summarise([r for r in rows if r["kind"] == k]) for k in DIFFERENT}
        results.append({"match": asdict(match), "same": same, **different})
        print(f"{dict(zip(GRID, values))}  same {same['gain_db']:+.2f} (hints {same['hints']:.0f})  "
              + "  ".join(f"{k} {s['gain_db']:+.2f} worst {s['worst_db']:+.2f} (hints {s['hints']:.0f})"
                          for k, s in different.items())
              + f"  {time.perf_counter() - t0:.0f} s", flush=True)
    ok = [r for r in results if all(r[k]["gain_db"] >= UNRELATED_FLOOR for k in DIFFERENT)] or results
    top = max(r["same"]["gain_db"] for r in ok)
    # Of those within TIE_DB of the best, the most cautious: the fewest hints from other scenes.
    best = min((r for r in ok if r["same"]["gain_db"] >= top - TIE_DB),
               key=lambda r: sum(r[k]["hints"] for k in DIFFERENT))
    print("chosen:", best["match"])
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps({"cpu": cpu_name(), "results": results, "chosen": best}, indent=1))


if __name__ == "__main__":
    main()
