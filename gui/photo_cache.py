"""What the open photo's colourisations share, so that a hint change only runs the network and
the joins: its full-resolution L*, the network's input per render size, the points its reference
photos give, and a reduced L* (and alpha) at the screen's size for the quick preview.

Used on the engine thread only (its jobs run one at a time), so it needs no lock.
"""

from __future__ import annotations

import cv2
import numpy as np


class PhotoCache:
    def __init__(self, photo):
        self.photo = photo
        self._l_full = None
        self._l_net: dict[tuple, object] = {}
        self._matched: dict[tuple, list] = {}
        self._reduced: dict[int, tuple] = {}

    def l_full(self):
        """L* ``(1, 1, H, W)`` float32 on the CPU, as :meth:`Colorizer.colorize_image` computes it."""
        import torch

        from vidcolor.engine import image_to_l

        if self._l_full is None:
            self._l_full = torch.stack([image_to_l(self.photo.pixels)])
        return self._l_full

    def l_net(self, colorizer):
        """The network's input for ``colorizer``'s render size and device."""
        key = (colorizer.settings.size, str(colorizer.device))
        if key not in self._l_net:
            self._l_net.clear()  # one size at a time: a changed setting makes the old one moot
            self._l_net[key] = colorizer.network_input(self.l_full().to(colorizer.device))
        return self._l_net[key]

    def matched(self, colorizer, references) -> list:
        """The hints (``matched``) that ``references`` give the photo; they depend on neither the
        render settings nor the user's hints."""
        from vidcolor.reference import match_references

        key = (tuple(references), id(colorizer.model), str(colorizer.device))
        if key not in self._matched:
            self._matched = {key: match_references(colorizer, self.l_full(), list(references))}
        return list(self._matched[key])

    def reduced(self, side: int) -> tuple:
        """(L* ``(1, h, w)``, alpha or None) with the longer side ``side``, area-averaged."""
        import torch

        if side not in self._reduced:
            H, W = self.photo.pixels.shape[:2]
            scale = side / max(H, W)
            size = (max(1, round(W * scale)), max(1, round(H * scale)))
            L = cv2.resize(self.l_full()[0, 0].numpy(), size, interpolation=cv2.INTER_AREA)
            alpha = self.photo.alpha
            if alpha is not None:
                alpha = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)
            self._reduced = {side: (torch.from_numpy(np.ascontiguousarray(L))[None], alpha)}
        return self._reduced[side]
