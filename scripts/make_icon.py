"""Draw the app's icon, ``assets/vidcolor.png`` (256x256): a film frame whose picture, a sun over
hills, is black-and-white on the left and in colour on the right. Run once; the PNG is committed."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

SIZE, SCALE = 256, 4  # drawn 4x as large, then shrunk: smooth edges
OUT = Path(__file__).resolve().parents[1] / "assets" / "vidcolor.png"


def gray(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    y = round(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2])
    return (y, y, y)


def picture(w: int, h: int, colour: bool) -> Image.Image:
    c = (lambda rgb: rgb) if colour else gray
    img = Image.new("RGB", (w, h))
    d = ImageDraw.Draw(img)
    top, bottom = (64, 132, 220), (250, 196, 120)  # sky: blue to a warm horizon
    for y in range(h):
        t = y / (h - 1)
        d.line([(0, y), (w, y)], fill=c(tuple(round(a + (b - a) * t) for a, b in zip(top, bottom))))
    sun = w * 0.62, h * 0.40, w * 0.13
    d.ellipse([sun[0] - sun[2], sun[1] - sun[2], sun[0] + sun[2], sun[1] + sun[2]], fill=c((255, 214, 64)))
    d.ellipse([-w * 0.3, h * 0.55, w * 0.75, h * 1.5], fill=c((70, 150, 70)))
    d.ellipse([w * 0.35, h * 0.62, w * 1.4, h * 1.6], fill=c((40, 112, 60)))
    d.polygon([(w * 0.1, h), (w * 0.45, h * 0.7), (w * 0.55, h * 0.7), (w * 0.9, h)], fill=c((196, 140, 84)))
    return img


def main() -> None:
    n = SIZE * SCALE
    icon = Image.new("RGBA", (n, n), (0, 0, 0, 0))
    d = ImageDraw.Draw(icon)
    pad, radius = 8 * SCALE, 36 * SCALE
    d.rounded_rectangle([pad, pad + 20 * SCALE, n - pad, n - pad - 20 * SCALE], radius, fill=(34, 36, 48, 255))
    # Sprocket holes along the top and bottom of the film.
    hole_w, hole_h = 16 * SCALE, 11 * SCALE
    for i in range(6):
        x = pad + 22 * SCALE + i * 37 * SCALE
        for y in (pad + 27 * SCALE, n - pad - 27 * SCALE - hole_h):
            d.rounded_rectangle([x, y, x + hole_w, y + hole_h], 3 * SCALE, fill=(0, 0, 0, 0))
    x0, y0, x1, y1 = pad + 14 * SCALE, pad + 48 * SCALE, n - pad - 14 * SCALE, n - pad - 48 * SCALE
    w, h = x1 - x0, y1 - y0
    bw, colour = picture(w, h, colour=False), picture(w, h, colour=True)
    # Black-and-white left of a slanted split, colour right of it.
    split = Image.new("L", (w, h), 0)
    ImageDraw.Draw(split).polygon([(w * 0.58, 0), (w, 0), (w, h), (w * 0.42, h)], fill=255)
    frame = Image.composite(colour, bw, split)
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).rounded_rectangle([0, 0, w - 1, h - 1], 10 * SCALE, fill=255)
    icon.paste(frame, (x0, y0), mask)
    d.line([(x0 + w * 0.58, y0), (x0 + w * 0.42, y1)], fill=(255, 255, 255, 255), width=3 * SCALE)
    icon.resize((SIZE, SIZE), Image.Resampling.LANCZOS).save(OUT, optimize=True)
    print(OUT)


if __name__ == "__main__":
    main()
