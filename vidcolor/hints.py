"""Colour hints: points where the user knows the colour ("this coat was red").

A hints file (JSON, written by the app, read by ``--hints``)::

    {"version": 1, "points": [{"x": 412, "y": 230, "color": "#B03A2E"},
                              {"x": 80, "y": 40, "color": "#6A8FC4", "t": 12.48}]}

``x``, ``y``: pixels of the input image or frame, (0, 0) the top left; ``color``: sRGB hex, of
which only a*b* is used (the photo keeps its own lightness); ``t``: for videos, the time in seconds
of the frame the point was placed on. The network takes hints as sparse a*b* and a mask at its own
resolution, as it was trained (simulated hints: the truth's mean a*b* over small patches).

:func:`vidcolor.suggest.suggestions` gives the colours the model itself finds likely at a point,
for a colour chooser to offer before a full picker (as Zhang et al.'s ideepcolor does).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from .atomic import atomic_output
from .color import AB_MAX, rgb_to_lab
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
    matched: bool = False  # found by matching a reference photo (vidcolor.reference), not placed by the user

    def scaled(self, scale: float) -> "Hint":
        """The same hint on the picture shown ``scale`` times its size."""
        return replace(self, x=self.x * scale, y=self.y * scale)

    def on_frame(self, own: float, fps: float) -> bool:
        """Placed on the video frame whose own time is ``own`` seconds (``fps`` frames a second):
        within half a frame of it."""
        return self.t is not None and abs(self.t - own) <= 0.5 / fps

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
    """The user's hints; matched ones are left out (their reference photos give them again)."""
    points = [{"x": h.x, "y": h.y, "color": h.color, **({"t": h.t} if h.t is not None else {})}
              for h in hints if not h.matched]
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


# -- pinning ---------------------------------------------------------------------------------------
# Chosen on the tune split (10 random hints per photo, 120 photos): see docs/how-it-works.md's hint numbers.
SPREAD = (0.5, 12.0, 20.0)  # a hint's broad correction: the distance (one std. dev., share of the map's
#   longer side), L* and predicted a*b* differences (units) over which it fades
PIN = (0.03, 8.0, None)  # ... then a narrow one that meets each hint at its own pixel
MEAN_REACH = 0.1  # where a hint informs the network (this share, at like lightness), its mean is used


def pin_to_hints(ab: torch.Tensor, L: torch.Tensor, hints: list[Hint], image_size: tuple[int, int],
                 scale: float = 1.0, mean: torch.Tensor | None = None) -> torch.Tensor:
    """``ab`` ``(2, h, w)``, predicted with ``hints`` for an image of ``image_size`` (width, height),
    corrected so that each hint's own pixel gets the hint's a*b* (times ``scale``, the intensity).

    The network moves colour towards a hint, but falls short of a colour far from what it expects
    (a pure red coat reaches about two thirds of its chroma) and of regions it does not see as one
    with the hint. The shortfall at each hint is added back twice. First broadly, fading with
    distance, with difference in lightness (``L``: L* ``(h, w)`` at ``ab``'s size) and with
    difference in the predicted colour, so that it reaches what the network coloured like the
    hint's spot (a sky it made orange, a lawn it left gray) and not a neighbour of another colour.
    Then what is left at each hint's pixel, narrowly, so that the user's colour is met there.

    ``mean``: the network's conditional mean (its regression head) for the same input. Close to a
    hint, where the hint leaves little doubt, it replaces ``ab``, whose decoding is tuned to colour
    an uncertain guess boldly rather than to be right on average."""
    if not hints:
        return ab
    (W, H), (h, w) = image_size, ab.shape[-2:]
    ab, L = ab.float(), L.float().to(ab.device)
    # Hint pixel centres in the map's coordinates (cell centres at integers, as the bilinear join
    # samples it: align_corners=False).
    u = torch.tensor([(hint.x + 0.5) * w / W - 0.5 for hint in hints], device=ab.device).clamp(0, w - 1)
    v = torch.tensor([(hint.y + 0.5) * h / H - 0.5 for hint in hints], device=ab.device).clamp(0, h - 1)
    target = torch.tensor([hint.ab() for hint in hints], device=ab.device) * scale  # (n, 2)
    ys = torch.arange(h, device=ab.device, dtype=torch.float32)[None, :, None]
    xs = torch.arange(w, device=ab.device, dtype=torch.float32)[None, None, :]
    distance2 = ((xs - u[:, None, None]) ** 2 + (ys - v[:, None, None]) ** 2) / max(h, w) ** 2  # (n, h, w)
    lightness2 = (L[None] - _sample(L[None], u, v)[0][:, None, None]) ** 2
    if mean is not None:
        near = torch.exp(-distance2 / (2 * MEAN_REACH**2) - lightness2 / (2 * PIN[1] ** 2)).amax(0)
        ab = torch.lerp(ab, mean.float().to(ab.device), near)
    # Narrowly, a hint keeps off its nearest neighbour (a third of the way), so that two hints a
    # few pixels apart are both met rather than each diluted by the other.
    centres = torch.stack((u, v), 1)
    apart = torch.cdist(centres, centres) / max(h, w) + torch.eye(len(hints), device=ab.device)
    narrow = (apart.amin(1) / 3).clamp(min=0.5 / max(h, w), max=PIN[0])[:, None, None]
    # Matched hints (from a reference photo) take no broad correction: they come many and close
    # together, and a wrong one spread over half the picture costs far more than a right one gains.
    # (Measured on the tune split's reference pairs: docs/how-it-works.md.)
    broad = torch.tensor([not hint.matched for hint in hints], device=ab.device)[:, None, None]
    for (reach, sigma_l, sigma_ab), floor, mask in ((SPREAD, 0.5, broad), ((narrow, *PIN[1:]), 1.0, True)):
        weights = torch.exp(-distance2 / (2 * reach**2) - lightness2 / (2 * sigma_l**2)) * mask  # (n, h, w)
        if sigma_ab is not None:
            weights = weights * torch.exp(-((ab[None] - _sample(ab, u, v).T[:, :, None, None]) ** 2).sum(1)
                                          / (2 * sigma_ab**2))
        # Each hint's shortfall, scaled by its own weight where the join reads its pixel (the
        # bilinear sample), spread by its weights. Where hints overlap, a pixel gets the weighted
        # mean of theirs; a lone hint's weight of ``floor`` or more carries the whole of it.
        shortfall = (target - _sample(ab, u, v).T) / _sample(weights, u, v).diagonal().clamp(min=1e-3)[:, None]
        ab = ab + torch.einsum("nhw,nc->chw", weights, shortfall) / weights.sum(0).clamp(min=floor)
    return ab.clamp(-AB_MAX, AB_MAX)


def _sample(maps: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Bilinear samples ``(C, n)`` of ``maps`` ``(C, h, w)`` at points (``u``, ``v``) in cell units."""
    h, w = maps.shape[-2:]
    x0, y0 = u.floor().long().clamp(0, w - 1), v.floor().long().clamp(0, h - 1)
    x1, y1 = (x0 + 1).clamp(max=w - 1), (y0 + 1).clamp(max=h - 1)
    fx, fy = u - x0, v - y0
    return (maps[:, y0, x0] * (1 - fx) * (1 - fy) + maps[:, y0, x1] * fx * (1 - fy)
            + maps[:, y1, x0] * (1 - fx) * fy + maps[:, y1, x1] * fx * fy)
