"""Import boundaries, each checked in a fresh interpreter: the engine, photo, video and CLI code
never import Qt or the app (so they work without PySide6), and reading a video (the PyAV reader:
probing, frame reading) never imports torch (so the app can show a video before any model loads)."""

import subprocess
import sys
from pathlib import Path

import pytest
from video_fixtures import write_clip

ROOT = Path(__file__).resolve().parents[1]


def run_python(code: str) -> None:
    """Run ``code`` in a new interpreter from the checkout; fail with its output if it fails."""
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_engine_photo_video_and_cli_never_import_qt_or_the_app():
    run_python(
        "import sys\n"
        "import vidcolor.engine, vidcolor.photo, vidcolor.video, vidcolor.cli\n"
        "import vidcolor.video.pipeline, vidcolor.video.reader, vidcolor.video.writer\n"
        "bad = sorted(m for m in sys.modules\n"
        "             if m.startswith(('PySide6', 'PyQt', 'shiboken')) or m == 'gui' or m.startswith('gui.'))\n"
        "assert not bad, bad\n"
    )


def test_the_pyav_reader_never_imports_torch(tmp_path):
    clip = write_clip(tmp_path / "tiny.mkv", 4, size=(32, 24))
    run_python(
        "import sys\n"
        "import vidcolor.video.reader as reader\n"
        "from vidcolor.video import VideoError\n"
        "from vidcolor.video.reader import FrameReader, probe, read_frame\n"
        f"info = probe({str(clip)!r})\n"
        "assert (info.width, info.height) == (32, 24), info\n"
        f"frame = read_frame({str(clip)!r}, 0.05)\n"
        f"with FrameReader({str(clip)!r}) as frames:\n"
        "    frames.read(0.1)\n"
        "bad = sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.'))\n"
        "assert not bad, bad[:10]\n"
    )


def test_nothing_but_a_batch_on_ray_imports_ray():
    # Ray is an optional extra (vidcolor[cluster]): every module imports without it, and none
    # pulls it in when imported, not even the batch runner's.
    run_python(
        "import importlib, pkgutil, sys\n"
        "import vidcolor\n"
        "for m in pkgutil.walk_packages(vidcolor.__path__, 'vidcolor.'):\n"
        "    importlib.import_module(m.name)\n"
        "import vidcolor.batch.run, vidcolor.batch.plan, vidcolor.batch.work, vidcolor.video.parts, vidcolor.cli\n"
        "vidcolor.cli.build_parser().parse_args(['batch', 'in', '-o', 'out'])\n"
        "bad = sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.'))\n"
        "assert not bad, bad[:10]\n"
    )


def test_the_cli_lets_waiting_openmp_threads_sleep_before_torch_loads(tmp_path):
    # Spinning OpenMP threads steal the cores from x264 in a render (see vidcolor.threads); the
    # setting only counts if it is made before torch loads. A user's own choice is kept.
    from PIL import Image

    photo = tmp_path / "in.png"
    Image.fromarray((__import__("numpy").arange(64 * 48) % 251).astype("uint8").reshape(48, 64)).save(photo)
    for preset, expected in ((None, "PASSIVE"), ("ACTIVE", "ACTIVE")):
        run_python(
            "import os, sys\n"
            + ("os.environ.pop('OMP_WAIT_POLICY', None)\n" if preset is None else f"os.environ['OMP_WAIT_POLICY'] = {preset!r}\n")
            + "import vidcolor.cli\n"
            "assert 'torch' not in sys.modules\n"
            "seen = []\n"
            "import builtins\n"
            "real_import = builtins.__import__\n"
            "def watch(name, *a, **k):\n"
            "    if name == 'torch' and not seen:\n"
            "        seen.append(os.environ.get('OMP_WAIT_POLICY'))\n"
            "    return real_import(name, *a, **k)\n"
            "builtins.__import__ = watch\n"
            f"assert vidcolor.cli.main(['photo', {str(photo)!r}, '-o', {str(tmp_path / 'out.png')!r}, '--overwrite']) == 0\n"
            f"assert seen == [{expected!r}], seen\n"
        )


def test_the_cli_parses_every_command_without_loading_torch():
    # `vidcolor ... --help` and a mistyped option must answer at once: the defaults the help shows
    # come from light modules, not from the ones that do the work.
    run_python(
        "import sys\n"
        "import vidcolor.cli\n"
        "parser = vidcolor.cli.build_parser()\n"
        "for command in parser._subparsers._group_actions[0].choices.values():\n"
        "    command.format_help()\n"
        "parser.parse_args(['batch', 'in', '-o', 'out'])\n"
        "bad = sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.'))\n"
        "assert not bad, bad[:10]\n"
    )


def vidcolor_modules() -> list[str]:
    """Every module of the package, by name (found without importing them)."""
    package = ROOT / "vidcolor"
    names = []
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def imported_modules(name: str) -> set[str]:
    """The vidcolor modules that module ``name`` imports, at its top or inside a function (not
    those only a type checker sees), as the names Python runs: ``from .video import segments``
    is ``vidcolor.video.segments``, ``from .video import x`` (not a module) ``vidcolor.video``."""
    import ast

    known = set(vidcolor_modules())
    path = ROOT / (name.replace(".", "/") + ("/__init__.py" if (ROOT / name.replace(".", "/")).is_dir() else ".py"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()

    def visit(node) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    # Importing a module runs its packages' __init__ first (the module's own ones are running).
    own = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 2)}
    out = set()
    for target in found & known:
        out.update(p for p in (".".join(target.split(".")[:i]) for i in range(1, target.count(".") + 2))
                   if p not in own)
    return out


def test_no_vidcolor_module_imports_another_that_imports_it_back():
    # A cycle works only in one import order, or only with one side's import put off into a
    # function (which then hides it): each module's imports, deferred ones included, form none.
    graph = {name: imported_modules(name) for name in vidcolor_modules()}
    cycles, done, path = [], set(), []

    def walk(name: str) -> None:
        if name in path:
            cycles.append(" -> ".join(path[path.index(name):] + [name]))
            return
        if name in done:
            return
        path.append(name)
        for target in sorted(graph[name]):
            walk(target)
        path.pop()
        done.add(name)

    for name in graph:
        walk(name)
    assert not cycles, cycles


@pytest.mark.parametrize("module", vidcolor_modules())
def test_each_module_imports_on_its_own_in_a_fresh_interpreter(module):
    # No module works only after some other one was imported first.
    run_python(f"import {module}")
