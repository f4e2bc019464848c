"""``vidcolor``: a thin command line over the library (photo, video, train, eval, pack)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from . import __version__
from .batch import DEFAULT_CPUS_PER_WORKER, DEFAULT_PART_SECONDS, DEFAULT_PHOTOS_PER_CALL
from .errors import HintsError, ReferencePhotoError, naming, reported_errors
from .threads import let_waiting_threads_sleep
from .video.options import BATCH_DEFAULT_TEXT, DEFAULT_WARMUP, EVERY_DEFAULT_TEXT, VideoOptions

log = logging.getLogger("vidcolor")


def _add_render_args(p: argparse.ArgumentParser) -> None:
    from .settings import DEFAULT_SIZE

    p.add_argument("--model", type=Path, help="weights file (default: the shipped model)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:1 ...")
    p.add_argument("--size", type=int, default=DEFAULT_SIZE,
                   help=f"render resolution: the network sees about SIZE x SIZE pixels (default {DEFAULT_SIZE}; "
                        "larger keeps small objects' colour apart, smaller is faster and often more vivid)")
    p.add_argument("--intensity", type=float, default=1.0, help="colour intensity (a*b* gain), 0 = gray, default 1")
    p.add_argument("--temperature", type=float, help="annealed-mean temperature of the colour classifier "
                   "(lower: more vivid; default: the model's tuned value)")
    p.add_argument("--blend", type=float, help="share of the colour classifier against the regression head "
                   "(default: the model's tuned value)")


def _model_settings(args):
    from .batch.work import ModelSettings

    return ModelSettings(str(args.model) if args.model else None, args.device, args.size, args.intensity,
                         args.temperature, args.blend)


def _colorizer(args):
    return _model_settings(args).load()


def cmd_photo(args) -> int:
    from tqdm import tqdm

    from .photo import colorize_photos

    with tqdm(desc="photos", unit="photo", disable=args.quiet) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        def report(message: str) -> None:
            bar.write(f"vidcolor: error: {message}", file=sys.stderr)

        references = _references(args.reference, timed=False)  # refused before any work
        failures = colorize_photos(_colorizer(args), args.inputs, args.output, recursive=args.recursive,
                                   overwrite=args.overwrite, suffix=args.format, progress=progress, report=report,
                                   hints_file=args.hints, references=references)
    return 1 if failures else 0


def _references(given: list[str] | None, timed: bool) -> list:
    """The ``--reference`` photos, loaded (a missing, unreadable or gray one refused, named);
    ``timed``: each may end in ``@SECONDS``, the time of a frame of the shot it is for."""
    if not given:
        return []
    from .reference import load_reference

    references = []
    for text in given:
        path, t = text, None
        if timed and "@" in text and not Path(text).exists():
            path, _, seconds = text.rpartition("@")
            try:
                t = float(seconds)
            except ValueError:
                raise ReferencePhotoError(f"{text}: expected PHOTO or PHOTO@SECONDS (e.g. house.jpg@12.5)") from None
            if not (t >= 0 and t < float("inf")):
                raise ReferencePhotoError(f"{text}: the time must be a number of seconds, 0 or more")
        references.append(load_reference(path, t))
    return references


def cmd_video(args) -> int:
    import threading

    from tqdm import tqdm

    from .video.pipeline import colorize_video, stage_summary

    options = _video_options(args).validate()
    jobs = _video_jobs(args.inputs, args.output)
    hints = None
    if args.hints is not None:
        from .hints import load_hints
        from .video.hint_tracks import check_video_hints

        if len(jobs) != 1:
            raise HintsError(f"{args.hints}: hints are for one video, and {len(jobs)} were given")
        hints = load_hints(args.hints)  # a bad file is refused before any work
        check_video_hints(jobs[0][0], hints, f"{args.hints} (for {jobs[0][0]})")
    references = _references(args.reference, timed=True)
    if any(r.t is not None for r in references) and len(jobs) != 1:
        raise ReferencePhotoError(f"a reference with a time (PHOTO@SECONDS) is for one video, and {len(jobs)} were given")
    colorizer = _colorizer(args)
    failures = 0
    for src, dst in jobs:
        if args.fresh:
            _discard_kept_render(dst)
        bar = tqdm(desc=src.name, unit="frame", disable=args.quiet, dynamic_ncols=True)

        def progress(p, bar=bar):
            bar.total = p.total
            bar.update(p.done - bar.n)
            bar.set_postfix_str(f"{p.fps:.1f} fps" + (f", resumed after {p.resumed} frames" if p.resumed else ""))

        cancel = threading.Event()
        try:
            with bar:  # closed once, before any message below
                # Ctrl-C keeps the finished segments: the same command run again resumes the render.
                report = colorize_video(colorizer, src, dst, options, progress=progress, cancel=cancel,
                                        overwrite=args.overwrite, hints=hints, keep_on_interrupt=True,
                                        references=references)
        except KeyboardInterrupt:
            print(_kept_render_note(dst), file=sys.stderr)
            raise
        except reported_errors() as e:  # as with photos, the other videos go on
            print(f"vidcolor: error: {naming(e, src, dst)}", file=sys.stderr)
            failures += 1
            continue
        notes = [f"{report.frames} frames in {report.seconds:.1f} s ({report.fps:.1f} fps)", f"{report.cuts} shot(s)"]
        if report.resumed:
            notes.append(f"resumed: the first {report.resumed} frames were kept from the interrupted render")
        if report.damaged:
            notes.append(f"{report.damaged} damaged frame(s) repeated or concealed")
        if report.colour_input:
            notes.append("input was already in colour: its luminance was colourised")
        print(f"{dst}: " + ", ".join(notes))
        if args.timings:
            print(f"  {stage_summary(report.stages)}")
    return 1 if failures else 0


def _kept_render_note(dst: Path) -> str:
    """The line Ctrl-C in ``vidcolor video`` leaves: what was kept of ``dst``'s render, and what next."""
    from .video.segments import SEGMENT_SECONDS, interrupted_frames

    kept = interrupted_frames(dst)
    if not kept:
        return (f"vidcolor: stopped: nothing of {dst} was kept (no {SEGMENT_SECONDS:g}-second segment was "
                "finished); running the same command again starts over")
    return (f"vidcolor: stopped: {kept} frames of {dst} are kept; run the same command again to resume, "
            "or add --fresh to start over")


def _discard_kept_render(dst: Path) -> None:
    """``--fresh``: throw away what an interrupted render of ``dst`` kept."""
    from .video.segments import discard_interrupted, interrupted_frames, resume_dir

    kept = interrupted_frames(dst)
    if resume_dir(dst).exists():
        discard_interrupted(dst)
        if kept:
            print(f"vidcolor: {dst}: discarded the {kept} frames kept from an interrupted render; starting over",
                  file=sys.stderr)


def _video_jobs(inputs: list[Path], output: Path) -> list[tuple[Path, Path]]:
    from .media import VIDEO_SUFFIXES, check_distinct_outputs, find_files, video_output_name

    if len(inputs) == 1 and output.suffix and not inputs[0].is_dir():
        return [(inputs[0], output)]
    if output.suffix:
        raise ValueError(f"{output}: several inputs or a folder need an output folder")
    videos = []
    for item in inputs:
        found = find_files(item, VIDEO_SUFFIXES) if item.is_dir() else [item]
        if not found:
            raise ValueError(f"{item}: no video files in this folder ({', '.join(sorted(VIDEO_SUFFIXES))})")
        videos += found
    jobs = [(src, output / video_output_name(src)) for src in videos]
    check_distinct_outputs(jobs)
    output.mkdir(parents=True, exist_ok=True)
    return jobs


def cmd_eval_video(args) -> int:
    from .video.evaluate import evaluate_videos

    strengths = [float(x) for x in args.strengths.split(",")]
    result = evaluate_videos(_colorizer(args), args.inputs, strengths, max_frames=args.max_frames,
                             max_side=args.max_side, report=args.report, progress=not args.quiet,
                             film=args.film, film_photos_max=args.film_photos, every=args.every)
    s = result["summary"]
    if s["clips"]:
        print(f"{s['clips']} clips; ground truth: warp RGB {s['truth']['warp_rgb']:.5f}, "
              f"warp a*b* {s['truth']['warp_ab']:.3f}, CDC {s['truth']['cdc']:.5f}")
        print(f"{'strength':>8} {'PSNR':>7} {'colour':>7} {'kept':>5} {'warpRGB':>9} {'warp a*b*':>9} "
              f"{'x truth':>7} {'CDC':>8}")
        for k in strengths:
            r = s[f"strength_{k:g}"]
            print(f"{k:8g} {r['psnr']:7.2f} {r['colourfulness']:7.1f} {r['colour_kept']:5.2f} {r['warp_rgb']:9.5f} "
                  f"{r['warp_ab']:9.3f} {r['warp_ab_vs_truth']:7.2f} {r['cdc']:8.5f}")
    if "film" in result:
        n = next(iter(result["film"].values()))["summary"]["clips"]
        print(f"synthetic film from {n} photos. a*b* change per frame along the exact motion: of the colour "
              "itself, and of the 8-bit output (as for clips), each with the truth's own and the ratio to it; "
              "kept: colourfulness against per-frame colourisation; cuts: shots started after the first "
              "frame; bleed: a*b* of the first shot left after the cut")
        print(f"{'case':>9} {'strength':>8} {'PSNR':>6} {'colour':>6} {'kept':>5} | {'change':>6} {'truth':>5} "
              f"{'x':>5} | {'8-bit':>5} {'truth':>5} {'x':>5} | {'cuts':>4} {'bleed':>5}")
        for name, case in result["film"].items():
            c = case["summary"]
            for k in strengths:
                r = c[f"strength_{k:g}"]
                ratio = f"{r['ab_change_vs_truth']:5.2f}" if "ab_change_vs_truth" in r else f"{'':5}"
                bleed = f"{r['bleed']:5.2f}" if "bleed" in r else ""
                print(f"{name:>9} {k:8g} {r['psnr']:6.2f} {r['colourfulness']:6.1f} {r['colour_kept']:5.2f} | "
                      f"{r['ab_change']:6.2f} {c['truth']['ab_change']:5.2f} {ratio} | {r['warp_ab']:5.2f} "
                      f"{c['truth']['warp_ab']:5.2f} {r['warp_ab_vs_truth']:5.2f} | {r['extra_cuts']:4.2f} {bleed}")
    if args.report:
        print(f"report: {args.report}")
    return 0


def cmd_eval(args) -> int:
    from .evaluate import SUITE, evaluate_photos, evaluate_suite, format_table

    colorizer = _colorizer(args)
    if args.reference:
        return _eval_references(colorizer, args)
    if args.inputs:
        if args.sets:
            raise ValueError("--sets chooses sets of the standard suite: give no INPUTS with it")
        result = evaluate_photos(colorizer, args.inputs, split=args.split, limit=args.limit,
                                 report=args.report, sheet=args.sheet, progress=not args.quiet, hints=args.hints)
        print(format_table(result, by_source=len(result["sources"]) > 1))
    else:
        sets = [s.strip() for s in args.sets.split(",") if s.strip()] if args.sets else list(SUITE)
        results = evaluate_suite(colorizer, args.data, sets, limit=args.limit, report=args.report, hints=args.hints,
                                 sheet_dir=args.sheet, progress=not args.quiet)
        for name, result in results.items():
            print(f"\n{name} ({args.data / SUITE[name].folder}, split {SUITE[name].split}):")
            print(format_table(result, SUITE[name].by_source))
    if args.report:
        print(f"report: {args.report}")
    if args.sheet:
        print(f"contact sheet{'' if args.inputs else 's'}: {args.sheet}")
    return 0


def _eval_references(colorizer, args) -> int:
    from .reference_eval import evaluate_references, format_table

    if args.inputs or args.hints:
        raise ValueError("--reference scores the suite's pairs (--data, --sets): give no INPUTS or --hints with it")
    sets = [s.strip() for s in (args.sets or "val_ood").split(",") if s.strip()]
    results = evaluate_references(colorizer, args.data, sets, limit=args.limit, report=args.report,
                                  sheet_dir=args.sheet, progress=not args.quiet)
    for name, result in results.items():
        print(f"\n{name} (colour from a reference photo; gain over the automatic result):")
        print(format_table(result))
    if args.report:
        print(f"report: {args.report}")
    if args.sheet:
        print(f"contact sheets: {args.sheet}")
    return 0


def cmd_sheet(args) -> int:
    from .evaluate import sheet_of_photos

    rows = sheet_of_photos(_colorizer(args), args.inputs, args.output, rows=args.limit, progress=not args.quiet)
    print(f"contact sheet: {args.output} ({rows} photos)")
    return 0


def cmd_tune_decoding(args) -> int:
    from .decoding import PORTRAIT_MAX_COLOUR, choose, sweep, tune_files
    from .weights import default_model_path, rewrite_settings

    colorizer = _colorizer(args)
    files, portraits = tune_files(args.data, args.limit)
    rows = sweep(colorizer, files, portraits, progress=not args.quiet)
    print(f"tune split: {len(files)} scene photos from held-out sources of {args.data / 'train'}"
          + (f"; its {len(portraits)} portraits apart (colour at most {PORTRAIT_MAX_COLOUR:g} of the truth's)"
             if portraits else ""))
    print(f"{'temperature':>11} {'blend':>6} {'chroma':>6} {'doubt':>5} {'gain dB':>8} {'colour/truth':>12} "
          f"{'invented':>8} {'wrong hue':>9} {'washed':>6}" + (f" {'portraits':>9} {'colour':>6}" if portraits else ""))
    for r in rows:
        print(f"{r['temperature']:>11.2f} {r['blend']:>6.2f} {r['chroma_gain']:>6.2f} {r['hue_doubt']:>5.1f} "
              f"{r['gain_db']:>+8.2f} {r['colourfulness_ratio']:>12.2f} {r['invented']:>8.1%} {r['wrong_hue']:>9.1%} "
              f"{r['washed_out']:>6.1%}"
              + (f" {r['portraits']['gain_db']:>+9.2f} {r['portraits']['colourfulness_ratio']:>6.2f}"
                 if portraits else ""))
    best = choose(rows)
    print(f"chosen: temperature {best['temperature']}, blend {best['blend']}, chroma gain {best['chroma_gain']}, "
          f"hue doubt {best['hue_doubt']} ({best['gain_db']:+.2f} dB, colourfulness {best['colourfulness_ratio']:.2f}, "
          f"invented {best['invented']:.1%}, wrong hue {best['wrong_hue']:.1%}, washed out {best['washed_out']:.1%} "
          "on tune)")
    info = {"decoding": {**best, "tune_photos": len(files), "tune_portraits": len(portraits),
                         "size": colorizer.settings.size}}
    rewrite_settings(args.model or default_model_path(), args.output, info, temperature=best["temperature"],
                     blend=best["blend"], chroma_gain=best["chroma_gain"], hue_doubt=best["hue_doubt"])
    print(f"weights: {args.output}")
    return 0


def _strides(text: str) -> tuple[int, ...]:
    if text.strip().lower() in ("none", ""):
        return ()
    try:
        return tuple(int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected strides like 8,16,32 or 'none', got {text!r}") from None


def cmd_train(args) -> int:
    from .train.loop import TrainConfig, train

    cfg = TrainConfig(data=str(args.data), out=str(args.out), preset=args.preset, epochs=args.epochs,
                      arch=args.arch, decoder_width=args.decoder_width,
                      minutes=args.minutes, batch=args.batch, crop=args.crop, lr=args.lr,
                      balance=args.balance, faces=args.faces, fuse_strides=args.fuse_strides, hints=args.hints,
                      degrade=args.degrade,
                      ema=args.ema, init=str(args.init) if args.init else None, freeze_encoder=args.freeze_encoder,
                      embedding=args.embedding, backbone=args.backbone, backbone_weights=args.backbone_weights,
                      seed=args.seed, device=args.device, workers=args.workers)
    train(cfg, progress=not args.quiet)
    print(f"weights: {Path(args.out) / 'model.safetensors'}")
    return 0


def cmd_pack(args) -> int:
    from tqdm import tqdm

    from .train import data as D

    for split in ("train", "tune"):
        files = D.split_files(args.src, split)
        with tqdm(total=len(files), desc=f"pack {split}", disable=args.quiet) as bar:
            index = D.write_pack(files, args.src, args.out / split, side=args.side, quality=args.quality,
                                 keep_faces=args.keep_faces, progress=bar.update, codec=args.codec)
        size = (args.out / split / "images.bin").stat().st_size
        print(f"{args.out / split}: {len(index['offsets'])} images, {size / 2**20:.1f} MiB")
    return 0


def cmd_batch(args) -> int:
    from tqdm import tqdm

    from .batch.run import run_batch
    from .batch.work import WorkSettings

    model = _model_settings(args)
    video = _video_options(args)
    settings = WorkSettings(video, part_seconds=args.part_seconds, warmup=args.warmup,
                            photos_per_call=args.photos_per_call)
    bar = None

    def on_event(event) -> None:
        nonlocal bar
        if event.kind == "start":
            print(f"vidcolor batch: {event.message}", file=sys.stderr)
            bar = tqdm(total=event.total, desc="batch", unit="img", disable=args.quiet, dynamic_ncols=True)
        elif event.kind == "progress":
            bar.total = event.total
            bar.update(event.done - bar.n)
        elif event.kind == "failed":
            tqdm.write(f"vidcolor: error: {event.message}", file=sys.stderr)
        elif event.kind in ("retry", "warning"):
            tqdm.write(f"vidcolor: {event.message}", file=sys.stderr)

    try:
        summary = run_batch(args.sources, args.output, model, settings, ray=args.ray, in_process=args.no_ray,
                            workers=args.workers, cpus_per_worker=args.cpus_per_worker, photo_format=args.format,
                            on_event=on_event)
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
            bar = None  # closed once: not again below
        print("vidcolor batch: stopped: finished items and the finished segments of videos under way are kept; "
              "run the same command again to go on", file=sys.stderr)
        raise
    finally:
        if bar is not None:
            bar.close()
    if not summary.done and not summary.failed:
        print(f"{summary.output}: nothing to do: all {len(summary.skipped)} item(s) are done already "
              "(their outputs exist)")
        return 0
    notes = [f"done {len(summary.done)}", f"skipped {len(summary.skipped)} (done already)",
             f"failed {len(summary.failed)}"]
    extra = [f"{summary.seconds:.1f} s {summary.where}"]
    if summary.retried:
        extra.append(f"{summary.retried} unit(s) tried again")
    if summary.kept_frames:
        extra.append(f"{summary.kept_frames} video frame(s) kept from an interrupted run")
    print(f"{summary.output}: {', '.join(notes)} ({'; '.join(extra)})")
    for src, message in summary.failed:
        print(f"  failed: {message if str(src) in message else f'{src}: {message}'}")
    return 0 if summary.ok else 1


def _ray_here() -> str:
    """Whether Ray is installed, for ``vidcolor batch --help`` (found without importing it)."""
    import importlib.util

    try:
        found = importlib.util.find_spec("ray") is not None
    except (ImportError, ValueError):
        found = False
    return "Ray is installed here" if found else "Ray is not installed here: pip install 'vidcolor[cluster]'"


def _video_options(args) -> VideoOptions:
    return VideoOptions(strength=args.smoothing, codec=args.codec, crf=args.crf, preset=args.preset,
                        pix_fmt=args.pix_fmt, batch_size=args.batch, every=args.every)


def _add_video_args(p: argparse.ArgumentParser, defaults: VideoOptions, default_codec: str) -> None:
    """What a render is asked for (:class:`VideoOptions`), as ``video`` and ``batch`` take it."""
    p.add_argument("--smoothing", type=float, default=defaults.strength,
                   help=f"temporal smoothing of colour, 0 (per frame) to 1 (default {defaults.strength})")
    _add_every_arg(p, defaults)
    p.add_argument("--codec", help=f"video codec (default {default_codec})")
    p.add_argument("--crf", type=int, default=defaults.crf,
                   help=f"quality for H.264/H.265/VP9 (lower is better, default {defaults.crf})")
    p.add_argument("--preset", default=defaults.preset, help=f"x264/x265 speed preset (default {defaults.preset})")
    p.add_argument("--pix-fmt", default=defaults.pix_fmt, help=f"output pixel format (default {defaults.pix_fmt})")
    p.add_argument("--batch", type=int, help=f"frames per forward pass (default {BATCH_DEFAULT_TEXT})")


def _add_every_arg(p: argparse.ArgumentParser, defaults: VideoOptions) -> None:
    p.add_argument("--every", type=int, default=defaults.every,
                   help="with smoothing, the network sees each shot's first frame and every n-th after it; the "
                        f"frames between get the colour carried along the motion (default {EVERY_DEFAULT_TEXT})")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="vidcolor", description="Colourise black-and-white photos and videos.")
    defaults = VideoOptions()
    ap.add_argument("--version", action="version", version=f"vidcolor {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("photo", parents=[common], help="colourise photos (files or folders)")
    p.add_argument("inputs", nargs="+", type=Path, help="image files or folders")
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="output file (one input) or folder (mirrors input folders)")
    p.add_argument("-r", "--recursive", action="store_true", help="look into sub-folders of input folders")
    p.add_argument("--format", choices=["png", "jpg", "tif", "webp"],
                   help="output format for folder outputs (default: the input's own when writable, else png)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("--hints", type=Path, metavar="HINTS.json",
                   help="colours you know, at pixels of the (one) input photo: "
                        '{"version": 1, "points": [{"x": 412, "y": 230, "color": "#B03A2E"}]}')
    p.add_argument("--reference", action="append", metavar="PHOTO",
                   help="a colour photo of what the inputs show (a later snapshot of the house, a postcard): its "
                        "colour is taken where its content matches; give it again for more photos")
    _add_render_args(p)
    p.set_defaults(func=cmd_photo)

    p = sub.add_parser("video", parents=[common], help="colourise videos (sound, timing and metadata kept)")
    p.add_argument("inputs", nargs="+", type=Path, help="video files or folders of them")
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="output file (one input; container from the extension) or folder")
    _add_video_args(p, defaults, "from the extension: H.264 for .mp4/.mov/.mkv")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.add_argument("--fresh", action="store_true",
                   help="start over: discard what an interrupted render of the output kept (by default, "
                        "after Ctrl-C or a crash, the same command resumes after the last finished segment)")
    p.add_argument("--hints", type=Path, metavar="HINTS.json",
                   help="colours you know, each at pixels of the (one) input video's frame at time t (seconds), "
                        "followed through its shot: "
                        '{"version": 1, "points": [{"x": 412, "y": 230, "color": "#B03A2E", "t": 12.48}]}')
    p.add_argument("--reference", action="append", metavar="PHOTO[@SECONDS]",
                   help="a colour photo of what the video shows, its colour taken where its content matches and "
                        "followed through the shot: PHOTO for every shot, PHOTO@12.5 for the shot at 12.5 s; "
                        "give it again for more photos")
    p.add_argument("--timings", action="store_true",
                   help="print where the time went (decoding, colourising, encoding) to find the bottleneck")
    _add_render_args(p)
    p.set_defaults(func=cmd_video)

    p = sub.add_parser("eval-video", parents=[common], help="score colour stability on colour clips made gray")
    p.add_argument("inputs", nargs="*", type=Path, help="video files or folders of frames (searched one level deep)")
    p.add_argument("--film", nargs="+", type=Path,
                   help="colour photos (files or folders) made into synthetic old film with known truth and "
                        "motion: static grainy, flickering, dusty shots, a flash frame, a pan, a duplicated "
                        "frame, a fade to black and a cut")
    p.add_argument("--film-photos", type=int, default=8, help="photos used for --film, spread over all given (default 8)")
    _add_every_arg(p, defaults)
    p.add_argument("--strengths", default=f"0,{defaults.strength:g}",
                   help=f"smoothing strengths to compare (default 0,{defaults.strength:g})")
    p.add_argument("--max-frames", type=int, default=60)
    p.add_argument("--max-side", type=int, default=480, help="frames are shrunk to this long side")
    p.add_argument("--report", type=Path, help="write per-clip numbers as JSON")
    _add_render_args(p)
    p.set_defaults(func=cmd_eval_video)

    p = sub.add_parser("eval", parents=[common], help="score colourisation of colour photos made gray")
    p.add_argument("inputs", nargs="*", type=Path,
                   help="colour photo folders (faces/scenes and sources by sub-folder) or files; "
                        "none: the standard suite of --data (val, val_ood, tune)")
    p.add_argument("--data", type=Path, default=Path("../shared/data"),
                   help="data root of the standard suite (default ../shared/data)")
    p.add_argument("--sets", help="comma list of suite sets to run (default val,val_ood,tune)")
    p.add_argument("--split", default="all", choices=["all", "train", "tune"],
                   help="for INPUTS folders: all files, or only the training / held-out tune part of a training folder")
    p.add_argument("--limit", type=int, help="at most this many images (per set), spread evenly over the files")
    p.add_argument("--hints", type=int, default=0, metavar="N",
                   help="also score N colour hints per photo at random pixels with the truth's colour: PSNR "
                        "gain over the automatic result, a*b* error at the hints and the share within 6 units")
    p.add_argument("--reference", action="store_true",
                   help="score colour from a reference photo instead, on pairs built from the suite's sets "
                        "(val_ood: its photos and the clips of video/; tune: the held-out sources): frames seconds "
                        "apart, two overlapping crops of a photo, a photo of another source and another photo of the "
                        "same source; gain over the automatic result and false colour (--limit: photos and clips "
                        "each)")
    p.add_argument("--report", type=Path, help="write settings, per-image and summary numbers as JSON")
    p.add_argument("--sheet", type=Path, help="write a contact sheet (input / ours / truth): a .jpg/.png file "
                   "for INPUTS, a folder (one SET.jpg per set) for the suite")
    _add_render_args(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("sheet", parents=[common], help="contact sheet of input | ours for photos without ground truth")
    p.add_argument("inputs", nargs="+", type=Path, help="photo files or folders (e.g. real old photos)")
    p.add_argument("-o", "--output", type=Path, required=True, help="the sheet, .jpg or .png")
    p.add_argument("--limit", type=int, default=16, help="rows, picked evenly over the files (default 16)")
    _add_render_args(p)
    p.set_defaults(func=cmd_sheet)

    p = sub.add_parser("train", parents=[common], help="train or fine-tune a model")
    p.add_argument("data", type=Path, help="image folder (train/<source>/...) or a pack from `vidcolor pack`")
    p.add_argument("--out", type=Path, required=True, help="run folder; running again resumes it")
    p.add_argument("--preset", default="vidcolor", choices=["vidcolor", "paper"])
    p.add_argument("--arch", choices=["unet", "fusion"],
                   help="unet (ours): a light decoder over the frozen backbone's maps; fusion: the paper's "
                        "encoder learnt on L* beside them (the paper preset's)")
    p.add_argument("--decoder-width", type=int, help="unet: channels at the bottleneck (ours: 128)")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--minutes", type=float, default=0.0, help="fit the schedule to this time budget")
    p.add_argument("--batch", type=int)
    p.add_argument("--crop", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--balance", type=float, help="draw each source by its size to this power "
                   "(1: as photos occur, the paper's; 0.5: ours, so the face crops do not dominate)")
    p.add_argument("--faces", type=float, help="the face crops' share of what is drawn, however many other "
                   "sources there are (ours: 0.1, their share on the first 22 sources)")
    p.add_argument("--fuse-strides", type=_strides, metavar="S,S,...",
                   help="backbone maps used, by stride (unet: 4,8,16,32; fusion: 8,16,32; 'none': the paper's "
                        "global fusion only)")
    p.add_argument("--hints", action=argparse.BooleanOptionalAction, default=None,
                   help="train with simulated colour hints (ours: yes)")
    p.add_argument("--degrade", type=float, help="share of inputs aged like old prints: grain, blur, fading, "
                   "dust, JPEG, tinted scans (ours: 0.6)")
    p.add_argument("--ema", type=float, help="score and save a moving average of the weights, this decay per step "
                   "(ours: 0.999; 0: the last step's weights, the paper's)")
    p.add_argument("--embedding", default="logits", choices=["logits", "pooled"])
    p.add_argument("--backbone", default="mobilenetv2_100", choices=["mobilenetv2_100", "inception_resnet_v2"],
                   help="frozen classifier for the global embedding (inception_resnet_v2: the paper's)")
    p.add_argument("--backbone-weights", help="its pretrained weights: a safetensors file, or 'timm' to download "
                   "them (needs a network connection); default: the shipped MobileNetV2")
    p.add_argument("--init", type=Path, help="continue from these weights (e.g. the shipped model)")
    p.add_argument("--freeze-encoder", type=int, default=0, metavar="N",
                   help="keep the encoder's first N convolutions as they are (with --init: steps about 1.8x "
                        "faster on a CPU at N=6; default 0)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--workers", type=int, default=2, help="decoding processes for folder data")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("tune-decoding", parents=[common],
                       help="choose a model's decoding settings on the tune split and write them into a copy")
    p.add_argument("-o", "--output", type=Path, required=True, help="the copy, with the chosen settings")
    p.add_argument("--data", type=Path, default=Path("../shared/data"),
                   help="data root whose train/ holds the tune split's held-out sources (default ../shared/data)")
    p.add_argument("--limit", type=int, help="at most this many tune photos, spread evenly")
    _add_render_args(p)
    p.set_defaults(func=cmd_tune_decoding)

    p = sub.add_parser("pack", parents=[common], help="pack a training folder into small train/tune shards")
    p.add_argument("src", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--side", type=int, default=192)
    p.add_argument("--quality", type=int, default=82)
    p.add_argument("--codec", default="jpg", choices=["jpg", "webp"], help="webp: about 30 %% smaller packs")
    p.add_argument("--keep-faces", type=float, default=1.0, help="share of face crops to keep")
    p.set_defaults(func=cmd_pack)

    p = sub.add_parser("batch", parents=[common],
                       help="colourise a collection (photos and videos, folders searched recursively) on this "
                            "machine or a Ray cluster")
    p.add_argument("sources", nargs="+", type=Path, help="photo and video files, or folders of them")
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="output folder: mirrors the sources' folders (photos keep their names, videos become "
                        "NAME_colour.mp4); items whose output exists are skipped, so a re-run goes on where "
                        "the last one stopped")
    p.add_argument("--ray", metavar="ADDRESS",
                   help="join a running Ray cluster: 'auto' (the one this machine is part of) or its address "
                        "(host:6379, ray://host:10001); sources and output must be at the same paths on every "
                        "node. Without it the batch runs on this machine: on a local Ray instance when Ray is "
                        f"installed, else in this process ({_ray_here()})")
    p.add_argument("--no-ray", action="store_true", help="run in this process even when Ray is installed")
    p.add_argument("--workers", type=int,
                   help="model workers (default: one per GPU of the cluster; without GPUs, one per "
                        "--cpus-per-worker CPUs)")
    p.add_argument("--cpus-per-worker", type=int, default=DEFAULT_CPUS_PER_WORKER,
                   help=f"CPUs of each CPU worker (default {DEFAULT_CPUS_PER_WORKER})")
    p.add_argument("--part-seconds", type=float, default=DEFAULT_PART_SECONDS,
                   help="a longer video is split into parts of about this many seconds (whole 3-second "
                        "segments), rendered by several workers at once and joined without re-encoding; one "
                        f"shorter than about two parts is rendered whole (default {DEFAULT_PART_SECONDS:g})")
    p.add_argument("--warmup", type=int, default=DEFAULT_WARMUP,
                   help="frames colourised before each part, not written, so that its colour continues the "
                        f"part before it (default {DEFAULT_WARMUP})")
    p.add_argument("--photos-per-call", type=int, default=DEFAULT_PHOTOS_PER_CALL,
                   help=f"photos handed to a worker at a time (default {DEFAULT_PHOTOS_PER_CALL})")
    p.add_argument("--format", choices=["png", "jpg", "tif", "webp"],
                   help="photo output format (default: the input's own when writable, else png)")
    _add_video_args(p, defaults, "H.264")
    _add_render_args(p)
    p.set_defaults(func=cmd_batch)
    return ap


def main(argv: list[str] | None = None) -> int:
    let_waiting_threads_sleep()  # torch is imported by the commands, after this
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except reported_errors() as e:
        print(f"vidcolor: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
