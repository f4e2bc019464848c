"""Colour hints: points where the user knows the colour ("this coat was red").

A hints file (JSON, written by the app, read by ``--hints``)::

    {"version": 1, "points": [{"x": 412, "y": 230, "color": "#B03A2E"},
                              {"x": 80, "y": 40, "color": "#6A8FC4", "t": 12.48}]}

``x``, ``y``: pixels of the input image or frame, (0, 0) the top left; ``color``: sRGB hex, of
which only a*b* is used (the photo keeps its own lightness); ``t``: for videos, the time in seconds
of the frame the point was placed on. The network takes hints as sparse a*b* and a mask at its own
resolution, as it was trained (simulated hints: the truth's mean a*b* over small patches).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from .atomic import atomic_output
from .color import rgb_to_lab
from .errors import HintsError

FORMAT_VERSION = 1
PATCH_RADIUS = 2  # network pixels around each point that carry its colour (5x5: chosen on the tune split)
_HEX = re.compile(r"#?([0-9a-fA-F]{6})")


@dataclass(frozen=True)
class Hint:
    x: float
    y: float
    color: str  # "#RRGGBB"
    t: float | None = None

    def ab(self) -> tuple[float, float]:
        """The colour's a*b*."""
        rgb = torch.tensor([int(self.color[i:i + 2], 16) / 255 for i in (1, 3, 5)]).view(3, 1, 1)
        lab = rgb_to_lab(rgb)
        return float(lab[1, 0, 0]), float(lab[2, 0, 0])


def parse_hints(data, source: str = "hints") -> list[Hint]:
    """Hints from the file format's JSON value; ``source`` names it in errors."""
    if not isinstance(data, dict):
        raise HintsError(f"{source}: expected a JSON object with \"version\" and \"points\"")
    if data.get("version") != FORMAT_VERSION:
        raise HintsError(f"{source}: unknown hints version {data.get('version')!r} (this vidcolor reads "
                         f"version {FORMAT_VERSION})")
    points = data.get("points")
    if not isinstance(points, list):
        raise HintsError(f"{source}: \"points\" must be a list")
    hints = []
    for i, p in enumerate(points):
        where = f"{source}: point {i + 1}"
        if not isinstance(p, dict):
            raise HintsError(f"{where}: expected an object with x, y and color")
        try:
            x, y = float(p["x"]), float(p["y"])
            color = str(p["color"])
            t = None if p.get("t") is None else float(p["t"])
        except KeyError as e:
            raise HintsError(f"{where}: missing {e.args[0]!r}") from None
        except (TypeError, ValueError):
            raise HintsError(f"{where}: x, y and t must be numbers") from None
        m = _HEX.fullmatch(color)
        if m is None:
            raise HintsError(f"{where}: color {color!r} is not an sRGB hex colour like \"#B03A2E\"")
        if not all(math.isfinite(v) for v in (x, y) + ((t,) if t is not None else ())) or (t is not None and t < 0):
            raise HintsError(f"{where}: x, y and t must be finite, t not negative")
        hints.append(Hint(x, y, "#" + m.group(1).upper(), t))
    return hints


def load_hints(path: str | Path) -> list[Hint]:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise HintsError(f"{path}: cannot be read ({e.strerror or e})") from None
    except ValueError as e:
        raise HintsError(f"{path}: not valid JSON ({e})") from None
    return parse_hints(data, str(path))


def save_hints(path: str | Path, hints: list[Hint]) -> None:
    points = [{"x": h.x, "y": h.y, "color": h.color, **({"t": h.t} if h.t is not None else {})} for h in hints]
    with atomic_output(Path(path)) as tmp:
        tmp.write_text(json.dumps({"version": FORMAT_VERSION, "points": points}, indent=1), encoding="utf-8")


def check_inside(hints: list[Hint], width: int, height: int, source: str = "hints") -> None:
    """Refuse a point outside a ``width`` x ``height`` image, naming it."""
    for i, h in enumerate(hints):
        if not (0 <= h.x < width and 0 <= h.y < height):
            raise HintsError(f"{source}: point {i + 1} ({h.x:g}, {h.y:g}) is outside the image "
                             f"({width} x {height} pixels)")


def hint_map(hints: list[Hint], image_size: tuple[int, int], net_size: tuple[int, int]) -> torch.Tensor:
    """The network's hint input ``(3, h, w)`` (a*b*, then a 0/1 mask) for an image of
    ``image_size`` (width, height) seen at ``net_size`` (width, height)."""
    (W, H), (w, h) = image_size, net_size
    out = torch.zeros(3, h, w)
    for hint in hints:
        cx = min(w - 1, int(hint.x * w / W))
        cy = min(h - 1, int(hint.y * h / H))
        ys = slice(max(0, cy - PATCH_RADIUS), cy + PATCH_RADIUS + 1)
        xs = slice(max(0, cx - PATCH_RADIUS), cx + PATCH_RADIUS + 1)
        a, b = hint.ab()
        out[0, ys, xs], out[1, ys, xs], out[2, ys, xs] = a, b, 1.0
    return out
