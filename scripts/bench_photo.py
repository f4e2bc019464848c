"""Benchmark: photo latency end to end and the network alone.

    python scripts/bench_photo.py [--device auto] [--repeat 3] [--only model|photo|hints]
                                  [--against WEIGHTS] [--isa native,avx2]

1. A 12-megapixel (4000x3000) gray JPEG, end to end as `vidcolor photo` does it: read, colourise,
   write a JPEG. Each run is a fresh process, so its peak memory (max RSS) is its own; model
   loading is reported apart, since a batch or the app pays it once.
2. The whole model at 224x224 (backbone, fusion network and decoding of both heads), per frame,
   side by side with another weights file (``--against``, e.g. an older model) or, by default, the
   paper's global-fusion network, as a ratio.
3. Colour hints in the app (the real window, offscreen, 1440x900, default render size) on the
   same 12-megapixel photo: from adding a hint to its preview on screen, and to the
   full-resolution result; and how long the chooser's suggestions take at a first and a second
   point.

``--isa native,avx2`` runs the model and photo measurements both as this CPU runs them and as a
CPU without AVX-512 would (oneDNN capped at AVX2, so no bf16), round after round.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vidcolor.threads import ISA_ENVS, cpu_name  # noqa: E402


def make_photo(path: Path, width: int = 4000, height: int = 3000) -> None:
    """A smooth gray scene with texture: compresses and decodes like a real scan."""
    rng = np.random.default_rng(0)
    small = rng.random((height // 50, width // 50)).astype(np.float32)
    img = np.asarray(Image.fromarray(small * 255).convert("L").resize((width, height), Image.BICUBIC), np.float32)
    img += rng.normal(0, 6, img.shape).astype(np.float32)
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "L").save(path, quality=92)


def photo_case(src: str, dst: str, device: str) -> dict:
    from vidcolor.engine import Colorizer
    from vidcolor.photo import colorize_file

    t0 = time.perf_counter()
    colorizer = Colorizer.from_pretrained(device=device)
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    colorize_file(colorizer, Path(src), Path(dst), overwrite=True)
    return {"load_s": load, "photo_s": time.perf_counter() - t0,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def model_case(device: str, against: str = "", repeat: int = 20) -> dict:
    """The shipped model against ``against`` (a weights file) or the paper's global fusion with
    batch norm and the hybrid head, no hints (random weights: time does not depend on them), at
    224x224, alternating so that both see the same machine state."""
    import torch

    from vidcolor.engine import Colorizer
    from vidcolor.model import FusionColorizer, ModelConfig

    shipped = Colorizer.from_pretrained(device=device)
    previous = (Colorizer.from_pretrained(against, device=device) if against
                else Colorizer(FusionColorizer(ModelConfig()), device=device))
    L = torch.rand(1, 1, 224, 224, device=shipped.device) * 100
    times = {"shipped": [], "previous": []}
    for i in range(3 + repeat):
        for name, c in (("shipped", shipped), ("previous", previous)):
            if c.device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            c.predict_ab(L)
            if c.device.type == "cuda":
                torch.cuda.synchronize()
            if i >= 3:
                times[name].append(time.perf_counter() - t0)
    median = {k: sorted(v)[len(v) // 2] * 1e3 for k, v in times.items()}
    return {"model_224_ms": median["shipped"], "previous_224_ms": median["previous"], "dtype": str(shipped.dtype)}


def hints_case(src: str, device: str, repeat: int) -> dict:
    import shutil

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QPointF, QSettings
    from PySide6.QtWidgets import QMessageBox

    from vidcolor_gui.app import create_application
    from vidcolor_gui.hint_edits import AddHint
    from vidcolor_gui.main_window import MainWindow

    app = create_application([sys.argv[0]])  # first: it sets up threading before torch loads
    from vidcolor.hints import Hint
    shown_dialogs = []

    def record(parent, title, text, *args, **kwargs):  # a modal dialog would wait for a click forever
        shown_dialogs.append(f"{title}: {text}")
        return QMessageBox.StandardButton.Ok

    for name in ("critical", "warning", "question"):
        setattr(QMessageBox, name, staticmethod(record))

    def wait(condition, timeout=300.0):
        deadline = time.monotonic() + timeout
        while not condition():
            if shown_dialogs:
                raise RuntimeError(f"the app reported: {shown_dialogs}")
            if time.monotonic() > deadline:
                raise TimeoutError("the app did not get there")
            app.processEvents()
            time.sleep(0.001)

    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(tmp) / Path(src).name
        shutil.copy(src, photo)
        store = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        store.setValue("render/device", device)
        window = MainWindow(store=store)
        window.resize(1440, 900)
        window.show()
        wait(lambda: window._model_ready)
        window.open_path(photo)

        def settled():
            doc = window.doc
            return doc is not None and doc.result_key == window._result_key() and not window.engine.is_busy()

        wait(settled)
        shown = []
        set_after = window.view.set_after
        window.view.set_after = lambda image, *a: (shown.append((time.perf_counter(), image)), set_after(image, *a))
        editor = window.hint_editor
        W, H = window.doc.photo.size
        preview, full, preview_side = [], [], 0
        for i in range(repeat):
            shown.clear()
            t0 = time.perf_counter()
            editor.undo_stack.push(AddHint(editor.list, Hint(W * (i + 1) // (repeat + 2), H // 2, "#D02020")))
            wait(lambda: shown)
            preview.append(shown[0][0] - t0)
            preview_side = max(shown[0][1].width(), shown[0][1].height())
            wait(settled)
            full.append(time.perf_counter() - t0)
        suggest = []
        for x in (W // 3, W // 2):
            t0 = time.perf_counter()
            editor.place(QPointF(x, H / 3))
            wait(lambda: editor.chooser is not None and editor.chooser.suggestions())
            suggest.append(time.perf_counter() - t0)
            editor.close_chooser()
        window.close()
        if shown_dialogs:
            raise RuntimeError(f"the app reported: {shown_dialogs}")
    return {"preview_s": preview, "full_s": full, "preview_side": preview_side, "suggest_s": suggest}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", choices=("model", "photo", "hints"), help="run one measurement")
    ap.add_argument("--against", default="", help="weights file to time beside the shipped model "
                    "(default: the paper's global-fusion network)")
    ap.add_argument("--isa", default="native", help="comma-separated: native and/or avx2 (as a CPU without "
                    "AVX-512 runs: oneDNN capped at AVX2, no bf16)")
    ap.add_argument("--case", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case is not None:
        if args.case and args.case[0] == "hints":
            out = hints_case(args.case[1], args.device, args.repeat)
        else:
            out = photo_case(*args.case, args.device) if args.case else model_case(args.device, args.against)
        print(json.dumps(out))
        return

    def run(*case, isa="native"):
        cmd = [sys.executable, __file__, "--device", args.device, "--repeat", str(args.repeat),
               "--against", args.against, "--case", *case]
        proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **ISA_ENVS[isa]})
        if proc.returncode:
            sys.exit(f"{' '.join(case) or 'model'} case failed:\n{proc.stderr[-3000:]}")
        return json.loads(proc.stdout)

    import torch

    isas = args.isa.split(",")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU {cpu_name()}, "
          f"GPU {torch.cuda.get_device_name() if torch.cuda.is_available() else 'none'}")
    if args.only in (None, "model"):
        other = args.against or "the global-fusion network"
        for isa in isas:
            m = run(isa=isa)
            print(f"model alone at 224x224, {isa} ({m['dtype']}, median): shipped {m['model_224_ms']:.1f} ms, "
                  f"{other} {m['previous_224_ms']:.1f} ms: {m['model_224_ms'] / m['previous_224_ms']:.2f}x")
    if args.only == "model":
        return
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "gray_12mp.jpg", Path(tmp) / "colour.jpg"
        make_photo(src)
        if args.only in (None, "photo"):
            runs = {isa: [] for isa in isas}
            for _ in range(args.repeat):  # round after round, so slow spells of the machine hit both
                for isa in isas:
                    runs[isa].append(run(str(src), str(dst), isa=isa))
            for isa, r in runs.items():
                times = sorted(x["photo_s"] for x in r)
                print(f"12 MP gray JPEG end to end (read, colourise, write JPEG), {isa}: best {times[0]:.2f} s, "
                      f"median {times[len(times) // 2]:.2f} s of {len(times)}; peak RSS "
                      f"{max(x['peak_rss_mb'] for x in r):.0f} MB; model load {r[0]['load_s']:.2f} s")
        if args.only in (None, "hints"):
            h = run("hints", str(src))
            med = lambda v: sorted(v)[len(v) // 2]  # noqa: E731
            print(f"12 MP photo in the app, a hint added -> its preview on screen ({h['preview_side']} px): median "
                  f"{med(h['preview_s']):.2f} s, worst {max(h['preview_s']):.2f} s of {len(h['preview_s'])}; "
                  f"-> full resolution {med(h['full_s']):.2f} s; chooser suggestions first point "
                  f"{h['suggest_s'][0] * 1e3:.0f} ms, second {h['suggest_s'][1] * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
