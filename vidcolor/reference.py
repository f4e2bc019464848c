"""Colour from a reference photo: "the house looked like this".

A colour photo of what the target shows (a later snapshot of the house, a postcard of the square,
one hand-coloured frame of the reel) gives colour hints where its content matches the target's.
Both are seen at about :data:`MATCH_SIZE` squared pixels and described by the frozen backbone's
maps at strides 8 and 16, the reference seen as gray like the target, on a grid of cells 8
pixels wide. Each target cell takes its most similar reference cell when

1. they are similar enough (cosine similarity of the descriptors);
2. no reference cell of a clearly different colour is nearly as similar: Lowe's ratio test, over
   the candidates of another colour only, so that a sky matching any of a hundred blue cells is
   certain and a wall matching a red door and a green one is not;
3. they agree in L*;
4. the reference cell is of one colour (not an edge between two).

Unless enough of these make a coherent picture (:func:`coherent`: one scene seen twice, not a
look-alike), the reference gives nothing. Otherwise the most similar, kept apart from each other,
become ordinary hints marked ``matched``
and go through the hint machinery (the hint channels, :func:`vidcolor.hints.pin_to_hints`): a
reference and hand-placed hints mix, and the user's hints win where they meet
(:func:`merge_hints`). Where nothing matches no hint is made, and the automatic result stands.
Colour statistics of the whole reference are never used: a lawn never takes a dress's red.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .color import check_image, lab_to_rgb, rgb_to_lab, to_unit_float
from .errors import PhotoError, ReferencePhotoError
from .hints import Hint
from .model import network_shape

MATCH_SIZE = 224  # matching sees the target and the references at about this many pixels squared
STRIDES = (8, 16)  # backbone maps whose descriptors are matched; cells are the finer one's
CELL = STRIDES[0]
GRAY_CHROMA = 6.0  # a*b* units: a reference whose pixels are nearly all below this has no colour to give
GRAY_SHARE = 0.005  # ... "nearly all": all but this share
THUMB_SIDE = 256  # the colour check looks at a copy this large


@dataclass(frozen=True)
class MatchSettings:
    """How sure a match must be to become a hint; chosen on the tune split (docs/how-it-works.md)."""

    min_similarity: float = 0.6  # cosine similarity of the two cells' descriptors
    ratio: float = 0.9  # (1 - best) / (1 - best of another colour) must stay below this
    other_colour: float = 12.0  # a*b* distance at which a candidate counts as another colour
    max_l_diff: float = 15.0  # L* units between the two cells
    max_spread: float = 8.0  # a*b* standard deviation inside the reference cell
    max_hints: int = 48
    # Fewer of the target's cells than this share match coherently (see :func:`coherent`): the
    # reference shows something else, a look-alike at best (another street, another sunset: the
    # same kind of thing, not the same thing), and gives no hint at all.
    min_coherent: float = 0.06
    spacing: int = 2  # cells between any two hints


MATCH = MatchSettings()
USER_REACH = 0.15  # a user's hint clears matched ones this close (share of the longer side) ...
USER_L = 12.0  # ... at L* this like its own


class Reference:
    """A colour photo to take colour from: RGB ``(H, W, 3)`` uint8, uint16 or float in [0, 1].
    ``t``: on a video, the time (seconds) of a frame of the shot it is for; None: every shot.
    Refused (naming ``name``) when it has no colour. What matching needs of it is kept for the
    last model it was matched with."""

    def __init__(self, rgb: np.ndarray, name: str = "reference", t: float | None = None):
        rgb = check_image(rgb)
        if rgb.ndim != 3:
            raise ReferencePhotoError(f"{name}: a reference must be a colour photo, and this one is gray")
        self.rgb, self.name, self.t = rgb, name, t
        if not has_colour(rgb):
            raise ReferencePhotoError(f"{name}: a reference must be a colour photo, and this one has no colour "
                                      f"(all but {GRAY_SHARE:.1%} of it is within {GRAY_CHROMA:g} a*b* units of gray)")
        self._cells: dict[tuple, tuple[torch.Tensor, ...]] = {}

    def at(self, t: float | None) -> "Reference":
        """The same photo for the shot at ``t`` seconds; shares what was computed of it."""
        other = object.__new__(Reference)
        other.__dict__.update(self.__dict__, t=t)
        return other

    def cells(self, colorizer) -> tuple[torch.Tensor, ...]:
        """Descriptors ``(N, D)``, mean L* ``(N,)``, mean a*b* ``(N, 2)``, a*b* spread ``(N,)`` and
        (row, column) ``(N, 2)`` of its cells, seen at about :data:`MATCH_SIZE` squared pixels."""
        h, w = network_shape(*self.rgb.shape[:2], MATCH_SIZE)
        key = (id(colorizer.model), h, w)
        if key not in self._cells:
            small = cv2.resize(to_unit_float(self.rgb), (w, h), interpolation=cv2.INTER_AREA)
            lab = rgb_to_lab(torch.from_numpy(small).permute(2, 0, 1))[None]
            mean = F.avg_pool2d(lab, CELL)
            spread = (F.avg_pool2d(lab[:, 1:] ** 2, CELL) - mean[:, 1:] ** 2).sum(1).clamp(min=0).sqrt()
            self._cells.clear()  # one model at a time
            self._cells[key] = (describe(colorizer, lab[:, :1]), mean[0, 0].flatten(),
                                mean[0, 1:].flatten(1).T, spread.flatten(), _grid(*mean.shape[-2:]).reshape(-1, 2))
        return self._cells[key]


def has_colour(rgb: np.ndarray) -> bool:
    """Whether more than a trace of ``rgb`` (RGB) is away from gray."""
    scale = THUMB_SIDE / max(rgb.shape[:2])
    thumb = to_unit_float(rgb)
    if scale < 1:
        thumb = cv2.resize(thumb, (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale))),
                           interpolation=cv2.INTER_AREA)
    chroma = rgb_to_lab(torch.from_numpy(thumb).permute(2, 0, 1))[1:].norm(dim=0)
    return float((chroma > GRAY_CHROMA).float().mean()) > GRAY_SHARE


def load_reference(path: str | Path, t: float | None = None) -> Reference:
    """A reference photo from a file; refused with the file's name when missing, unreadable or gray."""
    from .photo import read_photo  # PIL, only when a file is read

    try:
        photo = read_photo(path)
    except PhotoError as e:
        raise ReferencePhotoError(f"reference photo {e}") from None
    return Reference(photo.pixels, str(path), t)


def describe(colorizer, L_net: torch.Tensor) -> torch.Tensor:
    """Unit descriptors ``(N, D)`` of the cells of network-size L* ``(1, 1, h, w)``, row by row."""
    grid = (L_net.shape[-2] // CELL, L_net.shape[-1] // CELL)
    # A short side under the backbone's minimum is seen enlarged: its maps come back larger.
    fine, coarse = (F.interpolate(m, size=grid, mode="bilinear", align_corners=False) if m.shape[-2:] != grid else m
                    for m in colorizer.backbone_maps(L_net, STRIDES))
    # Each stride normalised on its own, so that neither outweighs the other by its channel count.
    d = torch.cat((F.normalize(fine, dim=1), F.normalize(coarse, dim=1)), 1) / math.sqrt(2)
    return d[0].flatten(1).T.cpu().float()


def match_references(colorizer, L: torch.Tensor, references: list[Reference],
                     image_size: tuple[int, int] | None = None, settings: MatchSettings = MATCH) -> list[Hint]:
    """Hints (``matched``) at the pixels of an image of ``image_size`` (width, height; default
    ``L``'s own) whose L* is ``L`` ``(1, 1, h, w)`` at any size, from the cells of ``references``
    that match its own. Matching sees it at about :data:`MATCH_SIZE` squared pixels, whatever the
    render size: a 64-pixel draft finds the same matches as a full render."""
    if not references:
        return []
    image_size = image_size or (L.shape[-1], L.shape[-2])
    shape = network_shape(L.shape[-2], L.shape[-1], MATCH_SIZE)
    L_net = L.float() if tuple(L.shape[-2:]) == shape else F.interpolate(
        L.float(), size=shape, mode="bilinear", align_corners=False, antialias=True)
    h, w = shape
    target = describe(colorizer, L_net)
    L_target = F.avg_pool2d(L_net.float().cpu(), CELL).flatten()
    parts = [ref.cells(colorizer) for ref in references]
    desc, L_ref, ab_ref, spread, where = (torch.cat(p) for p in zip(*parts))
    which = torch.cat([torch.full((len(p[0]),), k) for k, p in enumerate(parts)])
    similarity = target @ desc.T  # (cells of the target, cells of all references)
    best, j = similarity.max(1)
    other = torch.cdist(ab_ref[j], ab_ref) > settings.other_colour
    rival = similarity.masked_fill(~other, -1.0).amax(1)
    sure = ((best >= settings.min_similarity) & (1 - best <= settings.ratio * (1 - rival))
            & ((L_target - L_ref[j]).abs() <= settings.max_l_diff) & (spread[j] <= settings.max_spread))
    gh, gw = h // CELL, w // CELL
    if float(coherent(sure, where[j], which[j], gh, gw).float().mean()) < settings.min_coherent:
        return []
    W, H = image_size
    taken = np.zeros((gh, gw), bool)
    hints = []
    for i in torch.argsort(best, descending=True).tolist():
        if len(hints) >= settings.max_hints:
            break
        if not sure[i]:
            continue
        y, x = divmod(i, gw)
        s = settings.spacing
        if taken[max(0, y - s):y + s + 1, max(0, x - s):x + s + 1].any():
            continue
        taken[y, x] = True
        hints.append(Hint((x + 0.5) * CELL * W / w, (y + 0.5) * CELL * H / h, _hex(L_ref[j[i]], ab_ref[j[i]]),
                          matched=True))
    return hints


def coherent(sure: torch.Tensor, where: torch.Tensor, which: torch.Tensor, gh: int, gw: int) -> torch.Tensor:
    """Which of a ``gh`` x ``gw`` grid's ``sure`` matches ``(N,)`` (at reference cells ``where``
    ``(N, 2)`` of references ``which`` ``(N,)``) two or more sure neighbours agree with: matched in
    the same reference, shifted the same way within a cell. What one scene seen twice gives,
    moved or re-framed; what chance likeness (any sky for any sky) rarely does."""
    offset = where.float() - _grid(gh, gw).reshape(-1, 2)
    grids = [sure.view(gh, gw), which.view(gh, gw), offset.view(gh, gw, 2)]
    padded = [F.pad(g.movedim(-1, 0) if g.ndim == 3 else g, (1, 1, 1, 1), value=v)
              for g, v in zip((grids[0].float(), grids[1].float(), grids[2]), (0.0, -1.0, 1e9))]
    agree = torch.zeros(gh, gw)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                s, k, o = (p[..., 1 + dy:1 + dy + gh, 1 + dx:1 + dx + gw] for p in padded)
                agree += (s > 0) & (k == grids[1]) & ((o.movedim(0, -1) - grids[2]).abs().amax(-1) <= 1)
    return (grids[0] & (agree >= 2)).flatten()


def _grid(gh: int, gw: int) -> torch.Tensor:
    """(row, column) of each cell of a ``gh`` x ``gw`` grid, ``(gh, gw, 2)``."""
    return torch.stack(torch.meshgrid(torch.arange(gh), torch.arange(gw), indexing="ij"), -1).float()


def shot_placer(colorizer, references: list[Reference]):
    """For :func:`vidcolor.video.hint_tracks.track_hints`: a shot's matched hints. A reference
    with a time ``t`` is matched on the shot's frame nearest it, when the shot holds it; one
    without, on every shot's middle frame (the least far to follow both ways)."""
    from .color import image_to_l

    def place(frames: list[tuple[float, np.ndarray]]) -> list[Hint]:
        times = np.array([t for t, _ in frames])
        half = (times[1] - times[0]) / 2 if len(times) > 1 else 0.5
        on: dict[int, list[Reference]] = {}
        for ref in references:
            if ref.t is None:
                on.setdefault(len(frames) // 2, []).append(ref)
            elif times[0] - half <= ref.t < times[-1] + max(half, 1e-3):
                on.setdefault(int(np.argmin(np.abs(times - ref.t))), []).append(ref)
        hints = []
        for k, refs in sorted(on.items()):
            t, gray = frames[k]
            hints += [replace(h, t=t) for h in match_references(colorizer, image_to_l(gray)[None], refs)]
        return hints

    return place


def _hex(L: torch.Tensor, ab: torch.Tensor) -> str:
    rgb = lab_to_rgb(torch.cat((L.view(1), ab)).view(3, 1, 1)).flatten()
    return "#%02X%02X%02X" % tuple(int(round(float(c) * 255)) for c in rgb)


def merge_hints(hints: list[Hint], L: torch.Tensor, image_size: tuple[int, int]) -> list[Hint]:
    """``hints`` without the matched ones that a user's hint clears: within :data:`USER_REACH` of
    it at like lightness (``L``: L* ``(h, w)`` of the image at any size), where the user's colour
    is the one to spread."""
    own = [h for h in hints if not h.matched]
    matched = [h for h in hints if h.matched]
    if not own or not matched:
        return hints
    W, H = image_size
    h, w = L.shape[-2:]

    def lightness(p: Hint) -> float:
        return float(L[min(h - 1, int(p.y * h / H)), min(w - 1, int(p.x * w / W))])

    reach = USER_REACH * max(W, H)
    mine = [(u.x, u.y, lightness(u)) for u in own]
    kept = [m for m in matched
            if not any(math.hypot(m.x - x, m.y - y) < reach and abs(lightness(m) - lu) < USER_L for x, y, lu in mine)]
    return own + kept


def as_own(hints: list[Hint]) -> list[Hint]:
    """Matched hints turned into ordinary ones, for a user to edit."""
    return [replace(h, matched=False) for h in hints]
