"""``mmfeat demo``, ``mmfeat extract`` and ``mmfeat train``: the pipeline commands.

Each ``add_*`` function registers a subcommand on the parser of
:mod:`mmfeat.cli`; each ``cmd_*`` runs it and returns the exit status (see
:mod:`mmfeat.cli.args` for the error convention). The work itself lives in
:mod:`mmfeat.run`; this module parses, calls and prints.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from .args import (
    UserError,
    add_backend,
    check_backend,
    check_out_dir,
    fraction,
    image_size,
    positive_int,
)
from .args import say as _say
from .tables import frame_table


def _one_blas_thread():
    """Model fitting with one BLAS thread: the fits here are small, and OpenBLAS's
    threads spinning against Numba's workers (or other processes) on a 2-core
    machine made logistic regression 10x slower in our measurements."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


# -- demo --------------------------------------------------------------------------
def add_demo(sub):
    p = sub.add_parser(
        "demo",
        help="build the multimodal demo dataset, extract, fuse, train and evaluate",
        description="Generate the built-in multimodal dataset (digit images, synthetic "
        "vowel audio, topic sentences; no download), extract image, text and audio "
        "features, and train and evaluate a model on each modality alone and on all "
        "of them fused. Prints the time of each stage and the ablation table.",
    )
    p.add_argument("--n", type=positive_int, default=4000,
                   help="items in the dataset (default: %(default)s)")
    p.add_argument("--classes", type=int, choices=range(2, 11), default=5, metavar="K",
                   help="classes, 2-10 (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="dataset seed (default: %(default)s)")
    p.add_argument("--model", default="logistic",
                   help="logistic, linear_svm, random_forest or knn (default: %(default)s)")
    p.add_argument("--batch-size", type=positive_int, default=4096,
                   help="items extracted per batch (default: %(default)s)")
    p.add_argument("--eval-max", type=positive_int, default=20000,
                   help="items the ablation trains and tests on: a stratified sample when "
                   "--n is larger, so large runs show extraction throughput without hours "
                   "of model fitting (default: %(default)s)")
    add_backend(p)
    p.add_argument("--write-manifest", metavar="DIR",
                   help="also write the dataset as PNG/WAV files plus DIR/manifest.csv")
    p.add_argument("--json", metavar="PATH", help="write timings and results as JSON")
    p.add_argument("--report", metavar="PATH",
                   help="write the report: for .html/.htm one self-contained page with the "
                   "confusion matrix and per-class recall of the fused model, the ablation "
                   "chart and the stage times (needs matplotlib: pip install "
                   "'mmfeat[report]'); for any other name the --json content plus that "
                   "evaluation, as JSON")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args) -> int:
    from ..models import MODEL_NAMES

    if args.model not in MODEL_NAMES:
        raise UserError(f"--model must be one of {', '.join(MODEL_NAMES)}, got {args.model!r}")
    check_backend(args.backend)
    check_out_dir(args.json, "--json")
    _check_report(args.report, "--report")
    from ..backend import resolve_backend

    backend = resolve_backend(args.backend)
    _say(f"mmfeat demo: {args.n} items, {args.classes} classes, backend {backend}")
    from .._warmup import background_steps, compile_in_background, stop_background

    # a first run compiles the CPU kernels: those of image and audio on the idle core
    background = (compile_in_background(background_steps(("image", "text", "audio")))
                  if backend == "cpu" else None)
    try:
        return _demo(args, backend)
    finally:
        stop_background(background)


def _demo(args, backend) -> int:
    from ..data.demo import demo_dataset
    from ..models import ablation
    from ..pipeline import FeaturePipeline, default_extractors

    times = {}
    t0 = time.perf_counter()
    data = demo_dataset(args.n, n_classes=args.classes, seed=args.seed)
    times["generate"] = time.perf_counter() - t0
    if args.write_manifest:
        t0 = time.perf_counter()
        path = data.write_manifest(args.write_manifest)
        times["write manifest"] = time.perf_counter() - t0
        _say(f"wrote {len(data)} items and {path}")

    pipe = FeaturePipeline(
        default_extractors(sr=data.sr, backend=args.backend),
        batch_size=args.batch_size, backend=args.backend,
    )
    from .._compile_clock import compile_clock

    t0 = time.perf_counter()
    with compile_clock() as compiled:
        features = pipe.fit_transform({**data.modalities, "id": data.ids, "label": data.labels})
    times["extract"] = time.perf_counter() - t0
    for stage in ("image", "text", "audio"):
        times[f"  {stage}"] = pipe.timings_.get(stage, 0.0)
    t0 = time.perf_counter()
    eval_set, eval_labels = features, data.labels
    if len(data) > args.eval_max:
        from sklearn.model_selection import train_test_split

        keep, _ = train_test_split(np.arange(len(data)), train_size=args.eval_max,
                                   random_state=args.seed, stratify=data.labels)
        keep = np.sort(keep)
        eval_set = {m: b[keep] for m, b in features.blocks.items()}
        eval_labels = data.labels[keep]
    from sklearn.model_selection import train_test_split

    # the ablation's own default split, made here so that the report's fused model
    # is scored on the same test rows
    split = train_test_split(np.arange(len(eval_labels)), test_size=0.25, random_state=0,
                             stratify=eval_labels)
    with _one_blas_thread():
        table = ablation(eval_set, eval_labels, model=args.model, backend=args.backend,
                         split=split)
    times["train + evaluate (ablation)"] = time.perf_counter() - t0
    if args.report:
        t0 = time.perf_counter()
        with _one_blas_thread():
            evaluation = _demo_fused_evaluation(eval_set, eval_labels, split, args)
        times["fused model (report)"] = time.perf_counter() - t0

    _say("\nstage times")
    for name, secs in times.items():
        _say(f"  {name:<30} {secs:8.2f} s")
    times["compile (within extract)"] = compiled.seconds
    _say(f"  {'  Numba compile / cache load':<30} {compiled.seconds:8.2f} s"
         + ("  (first run: kernels compile once, then load from the cache)"
            if compiled.seconds > 1.0 else ""))
    work = max(times["extract"] - compiled.seconds, 1e-9)
    _say(f"  extraction throughput          {len(data) / work:8.0f} items/s "
         f"({work / len(data) * 1e6:.0f} us/item, compile excluded)")
    dims = ", ".join(f"{m} {b.shape[1]}" for m, b in features.blocks.items())
    _say(f"\nfeatures: {features.n_features} columns ({dims})")
    sample = "" if len(data) <= args.eval_max else f", a stratified sample of {args.eval_max}"
    _say(f"\nablation ({args.model}, one stratified 75/25 split{sample})\n")
    _say(frame_table(table))
    single = table[table["fusion"] == "none"]
    fused = table[(table["setting"] == "all")]
    best_single = single.loc[single["accuracy"].idxmax()]
    best_fused = fused.loc[fused["accuracy"].idxmax()]
    _say(f"\nbest single modality: {best_single['setting']} accuracy "
         f"{best_single['accuracy']:.3f}")
    _say(f"fused ({best_fused['fusion']} fusion) accuracy: {best_fused['accuracy']:.3f} "
         f"({best_fused['accuracy'] - best_single['accuracy']:+.3f})")
    if args.json:
        out = {
            "n": len(data), "classes": args.classes, "backend": backend, "model": args.model,
            "seconds": {k.strip(): v for k, v in times.items()},
            "ablation": table.to_dict(orient="records"),
        }
        Path(args.json).write_text(json.dumps(out, indent=2))
        _say(f"wrote {args.json}")
    if args.report:
        from ..report import write_report

        out = {
            "n": len(data), "classes": args.classes, "backend": backend, "model": args.model,
            "seconds": {k.strip(): v for k, v in times.items()},
            "ablation": table.to_dict(orient="records"), **evaluation,
        }
        write_report(out, args.report, title=f"mmfeat demo: {len(data)} items, "
                     f"{args.classes} classes", notes=[
                         f"built-in demo dataset (seed {args.seed}), backend {backend}",
                         f"model {args.model}: all modalities fused early, trained on one "
                         f"stratified 75/25 split{sample} and scored on its test rows; the "
                         "ablation uses the same split",
                         "stage times: image, text, audio and the Numba compile are parts "
                         "of extract",
                     ])
        _say(f"wrote {args.report}")
    return 0


def _demo_fused_evaluation(features, labels, split, args) -> dict:
    """The demo's model on every modality fused early (the ablation's "all (early)"
    setting), scored on the test rows of ``split``: :func:`mmfeat.models.evaluate`'s
    dict plus ``library``, ``n_train``, ``n_test``, ``blocks`` and ``tuning`` (None)."""
    from sklearn.pipeline import Pipeline

    from ..models import EarlyFusion, evaluate, make_model, model_library

    blocks = getattr(features, "blocks", features)
    train, test = split
    inner = make_model(args.model, args.backend, scale=False, drop=None, random_state=0)
    est = Pipeline([("fusion", EarlyFusion()), *inner.steps])
    est.fit({m: b[train] for m, b in blocks.items()}, labels[train])
    result = evaluate(est, {m: b[test] for m, b in blocks.items()}, labels[test],
                      labels=np.unique(labels))
    return {"library": model_library(inner), "n_train": int(len(train)),
            "n_test": int(len(test)), "blocks": {m: int(b.shape[1]) for m, b in blocks.items()},
            "tuning": None, **result}


def _check_report(path, argname: str) -> None:
    """Before the work: the report's folder exists and, for an HTML page, matplotlib
    imports."""
    check_out_dir(path, argname)
    if path is None:
        return
    from ..report import INSTALL_HINT, is_html, require_matplotlib

    if is_html(path):
        try:
            require_matplotlib()
        except ImportError:
            raise UserError(f"{argname} {path} needs matplotlib: {INSTALL_HINT}") from None


# -- extract -----------------------------------------------------------------------
def add_extract(sub):
    p = sub.add_parser(
        "extract",
        help="clean, decode and extract the features of a manifest into Parquet",
        description="Read a manifest (CSV, Parquet or JSON Lines with id, optional label, "
        "and image / text / text_path / audio columns), clean it, decode its files and "
        "write one Parquet table: id, label, one float32 column per feature and every "
        "other manifest column. Rows that cannot be used go to the rejects CSV with their "
        "reason; the counts add up. With --resume a killed run continues where it stopped.",
    )
    p.add_argument("manifest", help="the manifest file")
    p.add_argument("-o", "--output", required=True, help="the features Parquet file to write")
    p.add_argument("--rejects", metavar="CSV",
                   help="where to write the rejected rows (default: OUTPUT's name + .rejects.csv)")
    add_backend(p)
    p.add_argument("--batch-size", type=positive_int, default=1024,
                   help="rows decoded and extracted at a time (default: %(default)s)")
    p.add_argument("--image-size", type=image_size, default=(64, 64), metavar="HxW",
                   help="size images are resized to (default: 64x64)")
    p.add_argument("--sr", type=positive_int, default=16000,
                   help="audio sample rate clips are resampled to (default: %(default)s)")
    p.add_argument("--text-components", type=positive_int, default=64,
                   help="LSA dimensions of the text embedding (default: %(default)s)")
    p.add_argument("--on-missing", choices=("reject", "impute"), default="reject",
                   help="a missing modality value rejects the row, or imputes zeros plus a "
                   "missing-indicator column (default: %(default)s)")
    p.add_argument("--allow-outside", action="store_true",
                   help="accept paths that resolve outside the manifest's folder")
    p.add_argument("--pipeline", metavar="FITTED",
                   help="transform with this fitted pipeline instead of fitting one (the "
                   "OUTPUT.pipeline.joblib an earlier extract kept, or a model bundle): the "
                   "same vocabulary, basis and settings, so the columns mean what they "
                   "meant there; --image-size, --sr, --text-components, --on-missing then "
                   "come from it")
    _add_run_options(p)
    p.set_defaults(func=cmd_extract)


def _add_run_options(p):
    """Options of every command that runs a manifest through an executor."""
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted run (reuses OUTPUT.parts/, or with "
                   "--workers/--scheduler the parts already in the OUTPUT folder)")
    p.add_argument("--overwrite", action="store_true",
                   help="with --workers/--scheduler: replace the parts of an earlier run in "
                   "the OUTPUT folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    dask = p.add_mutually_exclusive_group()
    dask.add_argument("--workers", type=positive_int, metavar="N",
                      help="run on a local Dask cluster of N worker processes (with --backend "
                      "cuda: dask-cuda, one worker per GPU); OUTPUT becomes a folder of "
                      "part-*.parquet files")
    dask.add_argument("--scheduler", metavar="ADDRESS",
                      help="run on an existing Dask cluster (e.g. tcp://host:8786); the files "
                      "and OUTPUT must be on a file system every worker sees")


def _spec(args):
    from ..run import ExtractSpec

    return ExtractSpec(batch_size=args.batch_size, image_size=args.image_size, sr=args.sr,
                       text_components=args.text_components, on_missing=args.on_missing,
                       allow_outside=args.allow_outside, backend=args.backend)


def _load_fitted(path, args):
    """A fitted pipeline from a ``.pipeline.joblib`` file or a model bundle, set to run
    with this command's --batch-size (and --backend, when given)."""
    import copy

    import joblib

    from ..bundle import MAGIC, BundleError, load_bundle

    path = Path(path)
    if not path.is_file():
        raise UserError(f"--pipeline: {str(path)!r} not found")
    with open(path, "rb") as f:
        is_bundle = f.read(len(MAGIC) + 12).startswith(b'{"format": "' + MAGIC.encode())
    try:
        pipe = load_bundle(path).pipeline if is_bundle else joblib.load(path)
    except (BundleError, OSError, EOFError, ValueError) as exc:
        raise UserError(f"--pipeline: {exc}") from None
    if not hasattr(pipe, "iter_indexed") or not hasattr(pipe, "extractors_"):
        raise UserError(f"--pipeline: {path} does not hold a fitted FeaturePipeline")
    pipe = copy.copy(pipe)
    pipe.batch_size = args.batch_size
    if args.backend is not None:
        pipe.backend = args.backend
    return pipe


def cmd_extract(args) -> int:
    check_backend(args.backend)
    fitted = _load_fitted(args.pipeline, args) if args.pipeline else None
    return _run_manifest(args, fitted=fitted, post=None)


def _run_manifest(args, *, fitted, post) -> int:
    """extract / predict: the manifest through the local or the Dask executor."""
    manifest = Path(args.manifest)
    if not manifest.is_file():
        raise UserError(f"manifest {args.manifest!r} not found")
    from .._compile_clock import compile_clock
    from .._warmup import background_steps, compile_in_background, stop_background

    local = not (args.workers or args.scheduler)
    run = _extract_here if local else _extract_on_dask
    background = None
    if local and _runs_on_cpu(args, fitted):
        # a first run compiles the CPU kernels: those of the modalities it reaches
        # after the first on the idle core
        background = compile_in_background(
            background_steps(_manifest_modalities(manifest), fitted=fitted is not None))
    t0 = time.perf_counter()
    try:
        with compile_clock() as compiled:
            summary, wrote = run(args, manifest, fitted, post)
    except (ValueError, TypeError, FileExistsError, OSError) as exc:
        raise UserError(str(exc)) from None
    finally:
        stop_background(background)
    elapsed = time.perf_counter() - t0
    if not args.quiet:
        from ..data import format_summary

        _say(format_summary(summary))
        _say(f"wrote {wrote} and {summary['rejects']} ({summary['rejected']} rows)")
        work = max(elapsed - compiled.seconds, 1e-9)
        _say(f"{elapsed:.1f} s, of which Numba compile / cache load {compiled.seconds:.1f} s; "
             f"{summary['kept'] / work:.0f} rows/s without it")
    return 0


def _runs_on_cpu(args, fitted) -> bool:
    from ..backend import resolve_backend

    chosen = args.backend if args.backend is not None else getattr(fitted, "backend", None)
    try:
        return resolve_backend(chosen) == "cpu"
    except (ValueError, RuntimeError):
        return False


def _manifest_modalities(path: Path) -> set[str]:
    """The modalities of a manifest, from its header alone (empty when unreadable)."""
    from ..data.manifest import MODALITY_COLUMNS

    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            columns = pq.read_schema(path).names
        elif path.suffix in (".jsonl", ".json"):
            with open(path, encoding="utf-8") as f:
                columns = list(json.loads(f.readline() or "{}"))
        else:
            import pandas as pd

            columns = pd.read_csv(path, nrows=0).columns
    except Exception:  # noqa: BLE001 - only a hint: the job reports a bad manifest itself
        return set()
    return {MODALITY_COLUMNS[c] for c in columns if c in MODALITY_COLUMNS}


def _extract_here(args, manifest: Path, fitted, post):
    from ..run import ExtractJob

    job = ExtractJob(manifest, Path(args.output),
                     rejects=Path(args.rejects) if args.rejects else None,
                     spec=None if fitted is not None else _spec(args), fitted=fitted, post=post,
                     progress=None if not args.quiet else False)
    summary = job.run(resume=args.resume)
    summary["rejects"] = str(job.rejects)
    return summary, f"{job.output} ({summary['kept']} rows)"


def _extract_on_dask(args, manifest: Path, fitted, post):
    try:
        from ..run import dask as run_dask
    except ImportError as exc:
        raise UserError(
            f"--workers/--scheduler need Dask: pip install 'mmfeat[dask]' ({exc})"
        ) from None
    try:
        summary = run_dask.extract(
            manifest, output=Path(args.output),
            rejects=Path(args.rejects) if args.rejects else None,
            workers=args.workers, scheduler=args.scheduler,
            cluster="cuda" if args.backend == "cuda" and args.scheduler is None else None,
            resume=args.resume, overwrite=args.overwrite,
            spec=None if fitted is not None else _spec(args), fitted=fitted, post=post,
        )
    except ImportError as exc:
        raise UserError(str(exc)) from None
    return summary, (f"{summary['output']} ({summary['kept']} rows in "
                     f"{summary['partitions']} parts)")


# -- train -------------------------------------------------------------------------
def add_train(sub):
    p = sub.add_parser(
        "train",
        help="train and evaluate a model on a features Parquet file",
        description="Train a model on the features written by `mmfeat extract` (or any "
        "Parquet file with float feature columns named image_*, text_*, audio_*), "
        "evaluate it on held-out rows and print accuracy, macro precision/recall/F1, "
        "the confusion matrix and the per-modality ablation.",
    )
    p.add_argument("features", help="the features Parquet file")
    p.add_argument("--label", required=True, metavar="COL", help="the label column")
    p.add_argument("--model", default="logistic",
                   help="logistic, linear_svm, random_forest or knn (default: %(default)s)")
    split = p.add_mutually_exclusive_group()
    split.add_argument("--split-col", metavar="COL",
                       help="column whose value 'test' marks the held-out rows "
                       "(every other value is training)")
    split.add_argument("--test-size", type=fraction, default=0.2,
                       help="fraction held out, stratified (default: %(default)s)")
    p.add_argument("--tune", action="store_true",
                   help="cross-validated search of the model's key parameters first")
    p.add_argument("--report", metavar="PATH",
                   help="write the evaluation: for .html/.htm one self-contained page with "
                   "the confusion matrix, per-class recall and ablation charts, the model, "
                   "its tuned parameters and the stage times (needs matplotlib: pip install "
                   "'mmfeat[report]'); for any other name as JSON")
    p.add_argument("--save", metavar="BUNDLE",
                   help="save the model with the fitted feature pipeline as one model bundle "
                   "for `mmfeat predict` (a checked pickle: load only bundles you trust)")
    p.add_argument("--pipeline", metavar="FITTED",
                   help="the fitted pipeline the features came from, for --save (default: "
                   "FEATURES.pipeline.joblib, which `mmfeat extract` writes)")
    p.add_argument("--seed", type=int, default=0, help="split and model seed")
    add_backend(p)
    p.set_defaults(func=cmd_train)


def cmd_train(args) -> int:
    from ..run import train

    check_backend(args.backend)
    if not Path(args.features).is_file():
        raise UserError(f"features file {args.features!r} not found")
    _check_report(args.report, "--report")
    check_out_dir(args.save, "--save")
    try:
        report = train(
            Path(args.features), label=args.label, model=args.model,
            split_col=args.split_col, test_size=args.test_size, tune=args.tune,
            save=args.save, pipeline=args.pipeline, seed=args.seed, backend=args.backend,
        )
    except (ValueError, TypeError, KeyError) as exc:
        raise UserError(str(exc).strip("'\"")) from None
    _say(format_train_report(report))
    if args.report:
        from ..report import write_report

        split = (f"rows marked 'test' in column {args.split_col}" if args.split_col else
                 f"a random {args.test_size:g} of the rows (seed {args.seed})")
        write_report(report, args.report, title=f"mmfeat train: {Path(args.features).name}",
                     notes=[f"features {args.features}, label {args.label}; test rows: "
                            f"{split}"])
        _say(f"wrote {args.report}")
    return 0


def format_train_report(report: dict) -> str:
    """The report of :func:`mmfeat.run.train` as the lines ``mmfeat train`` prints."""
    import pandas as pd

    lines = []
    if report["n_unlabeled"]:
        lines.append(f"{report['n_unlabeled']} rows without a label are left out")
    blocks = report["blocks"]
    lines.append(f"{report['n_train']} training rows, {report['n_test']} test rows, "
                 f"{sum(blocks.values())} features "
                 f"({', '.join(f'{m} {d}' for m, d in blocks.items())})")
    tuned = report.get("tuning")
    if tuned:
        lines.append(f"tuned {report['model']}: {tuned['best_params']} (cv {tuned['scoring']} "
                     f"{tuned['best_score']:.3f})")
    lines.append(f"\nmodel: {report['model']} ({report['library']})")
    for key in ("accuracy", "precision_macro", "recall_macro", "f1_macro"):
        lines.append(f"  {key:<16} {report[key]:.4f}")
    lines.append("confusion matrix (rows: true, columns: predicted; labels "
                 f"{', '.join(map(str, report['labels']))}):")
    for row in report["confusion_matrix"]:
        lines.append("  " + " ".join(f"{v:6d}" for v in row))
    lines.append("\nablation (same split)\n" + frame_table(pd.DataFrame(report["ablation"])))
    if report.get("saved"):
        lines.append(f"saved the model bundle to {report['saved']} (for `mmfeat predict`; "
                     "a pickle inside: load only bundles you trust)")
    return "\n".join(lines)


# -- predict -------------------------------------------------------------------------
def add_predict(sub):
    p = sub.add_parser(
        "predict",
        help="score a new manifest with a model bundle from `mmfeat train --save`",
        description="Extract the features of a new manifest with the bundle's fitted "
        "pipeline (never refitted: the training vocabulary, basis and settings) and "
        "write one Parquet table: id, prediction, proba_<class> per class where the "
        "model has probabilities, and the manifest's other columns. Rows that cannot be "
        "used go to the rejects CSV as in `mmfeat extract`; the counts add up.",
    )
    p.add_argument("manifest", help="the manifest file")
    p.add_argument("--model", required=True, metavar="BUNDLE",
                   help="the model bundle (`mmfeat train --save`)")
    p.add_argument("-o", "--output", required=True, help="the predictions Parquet file")
    p.add_argument("--rejects", metavar="CSV",
                   help="where to write the rejected rows (default: OUTPUT's name + .rejects.csv)")
    add_backend(p)
    p.add_argument("--batch-size", type=positive_int, default=1024,
                   help="rows decoded and scored at a time (default: %(default)s)")
    _add_run_options(p)
    p.set_defaults(func=cmd_predict)


def cmd_predict(args) -> int:
    import warnings

    from ..bundle import BundleError, BundleVersionWarning, load_bundle

    check_backend(args.backend)
    if not Path(args.model).is_file():
        raise UserError(f"--model: {args.model!r} not found")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", BundleVersionWarning)
            bundle = load_bundle(args.model)
    except BundleError as exc:
        raise UserError(f"--model: {exc}") from None
    for w in caught:
        _say(f"mmfeat predict: warning: {w.message}", file=sys.stderr)
    fitted = bundle.pipeline
    fitted.batch_size = args.batch_size
    if args.backend is not None:
        fitted.backend = args.backend
    return _run_manifest(args, fitted=fitted, post=bundle.predictions_frame)


__all__ = ["add_demo", "add_extract", "add_train", "add_predict", "format_train_report"]
