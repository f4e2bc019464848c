"""vidcolor: colourise black-and-white photos and videos (Deep Koalarization fusion network)."""

__version__ = "0.1.0"
