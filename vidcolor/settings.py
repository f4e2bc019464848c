"""Render settings a user can change without reloading the model, and their limits: light, so that
the app can build and check them before torch is loaded."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_SIZE = 224
MIN_SIZE, MAX_SIZE = 64, 1024
MAX_INTENSITY = 3.0


@dataclass
class RenderSettings:
    """What a user can change between renders without reloading the model."""

    size: int = DEFAULT_SIZE  # render resolution: the network sees about size x size pixels
    intensity: float = 1.0  # multiplies the predicted a*b* (colour saturation)
    temperature: float | None = None  # classification head's annealing; None: the model's tuned value
    blend: float | None = None  # share of the classification head; None: the model's tuned value

    def validate(self) -> "RenderSettings":
        if not MIN_SIZE <= self.size <= MAX_SIZE:
            raise ValueError(f"render size must be between {MIN_SIZE} and {MAX_SIZE}, got {self.size}")
        if not 0 <= self.intensity <= MAX_INTENSITY:
            raise ValueError(f"colour intensity must be between 0 and {MAX_INTENSITY:g}, got {self.intensity}")
        if self.temperature is not None and not 0.01 <= self.temperature <= 10:
            raise ValueError(f"temperature must be between 0.01 and 10, got {self.temperature}")
        if self.blend is not None and not 0 <= self.blend <= 1:
            raise ValueError(f"blend must be between 0 and 1, got {self.blend}")
        return self
