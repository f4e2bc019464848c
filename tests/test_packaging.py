"""A non-editable install must carry the shipped weights and samples."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_ships_weights_samples_and_both_packages(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(ROOT)], check=True, timeout=300)
    (wheel,) = tmp_path.glob("vidcolor-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("vidcolor/assets/vidcolor_mobilenetv2.safetensors", "vidcolor/assets/mobilenet_v2_imagenet.safetensors",
                   "vidcolor/assets/samples/detroit_1915.jpg", "vidcolor/engine.py", "vidcolor_gui/app.py",
                   "vidcolor/assets/vidcolor.png", "vidcolor_gui/desktop.py"):  # the icon --install-desktop installs
        assert needed in names, needed
    assert not any(n.startswith(("tests/", "scripts/", "gui/")) for n in names)
