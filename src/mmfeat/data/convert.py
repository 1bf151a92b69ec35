"""Decoding files into arrays: images to one uint8 RGB batch, audio to float32 mono
at one rate, text to NFC strings.

Every function returns its results aligned with its input and a list of
failures ``(index, reason)``; it never raises for a bad item. ``reason`` is a
short category, optionally followed by ``": "`` and a detail, e.g.
``"corrupt image: image file is truncated"``. The categories:

- all files: ``missing value``, ``file not found``, ``not a file``,
  ``empty file``, ``unreadable file``
- images: ``not an image`` (no Pillow decoder recognises it),
  ``corrupt image`` (decoding failed), ``decompression bomb``
- audio: ``corrupt audio``, ``empty audio`` (no samples), ``non-finite audio``
- text: ``undecodable text`` (not UTF-8), ``not a string``

:func:`mmfeat.data.reject_failures` moves the failed rows to the rejects table.
"""

from __future__ import annotations

import numbers
import os
import unicodedata
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .audio_io import load
from .manifest import _is_missing

__all__ = ["decode_audio", "decode_images", "normalize_text", "read_texts"]

_RESAMPLE = ("nearest", "bilinear", "bicubic", "lanczos", "box", "hamming")
# EXIF orientations that swap width and height (transpose, rotate 90/270, transverse)
_SWAPS_AXES = (5, 6, 7, 8)
_ORIENTATION = 0x0112


def _n_jobs(n_jobs, n_items):
    if n_jobs is None:
        n_jobs = min(8, os.cpu_count() or 1)
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs < 1:
        raise ValueError(f"n_jobs must be a positive integer or None, got {n_jobs!r}")
    return max(1, min(int(n_jobs), n_items))


def _run(fn, n, n_jobs):
    """fn(i) for i in range(n), on a thread pool (decoders release the GIL)."""
    if n_jobs <= 1:
        return [fn(i) for i in range(n)]
    with ThreadPoolExecutor(max_workers=n_jobs) as pool:
        return list(pool.map(fn, range(n), chunksize=max(1, min(64, n // (4 * n_jobs)))))


def _as_list(items, argname):
    if isinstance(items, (str, bytes, os.PathLike)):
        raise TypeError(
            f"{argname} must be a sequence of items, got a single {type(items).__name__}"
        )
    try:
        return list(items)
    except TypeError as exc:
        raise TypeError(f"{argname} must be a sequence, got {type(items).__name__}") from exc


def _path_problem(path) -> str | None:
    """Reason a path cannot be opened, checked before handing it to a decoder."""
    if _is_missing(path):
        return "missing value"
    if not isinstance(path, (str, os.PathLike)):
        return f"missing value: not a path but {type(path).__name__}"
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "file not found"
    except OSError as exc:
        return f"unreadable file: {exc.strerror or exc}"
    if not os.path.isfile(path):
        return "not a file"
    if st.st_size == 0:
        return "empty file"
    return None


# --- images -------------------------------------------------------------------------


def _check_size(size):
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        size = (size, size)
    try:
        h, w = size
        ok = all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in (h, w))
    except (TypeError, ValueError):
        ok = False
    if not ok or h < 1 or w < 1:
        raise ValueError(f"size must be a positive int or a pair (H, W) of them, got {size!r}")
    return int(h), int(w)


def _to_rgb(im):
    from PIL import Image

    mode = im.mode
    if mode == "RGB":
        return im
    if mode.startswith("I;16") or mode == "I":
        # 16-bit gray: scale 0..65535 to 0..255 (Pillow's convert would clip instead)
        arr = np.asarray(im).astype(np.float64)
        arr = np.clip(np.rint(arr / 257.0), 0, 255).astype(np.uint8)
        return Image.fromarray(arr).convert("RGB")
    if mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")  # the palette's transparency needs RGBA to be read
    return im.convert("RGB")  # alpha, if any, is dropped (not composited)


def _decode_image(path, out, size_hw, resample, limit, draft):
    from PIL import Image, ImageOps, UnidentifiedImageError

    problem = _path_problem(path)
    if problem is not None:
        return problem
    h, w = size_hw
    try:
        with Image.open(path) as im:
            iw, ih = im.size
            if limit is not None and iw * ih > limit:
                return f"decompression bomb: {iw}x{ih} pixels exceeds the limit of {limit}"
            orientation = im.getexif().get(_ORIENTATION, 1)
            if draft and im.format == "JPEG":
                # let libjpeg decode at a reduced scale no smaller than the target
                want = (h, w) if orientation in _SWAPS_AXES else (w, h)
                im.draft("RGB", want)
            if orientation != 1:
                im = ImageOps.exif_transpose(im)
            im = _to_rgb(im)
            if im.size != (w, h):
                im = im.resize((w, h), resample)
            arr = np.asarray(im)
            if arr.shape != (h, w, 3):
                return f"corrupt image: decoded to shape {arr.shape}"
            out[...] = arr
    except Image.DecompressionBombError as exc:
        return f"decompression bomb: {exc}"
    except UnidentifiedImageError:
        return "not an image"
    except PermissionError as exc:
        return f"unreadable file: {exc.strerror or exc}"
    except Exception as exc:  # truncated data, bad chunks, decoder errors of every kind
        return f"corrupt image: {exc}" if str(exc) else f"corrupt image: {type(exc).__name__}"
    return None


def decode_images(
    paths,
    size=(64, 64),
    *,
    resample: str = "bilinear",
    draft: bool = False,
    n_jobs: int | None = None,
):
    """Decode image files into one uint8 RGB batch of a single size.

    Each file is opened with Pillow, turned upright by its EXIF orientation
    (``ImageOps.exif_transpose``), converted to RGB and resized to ``size``.

    Parameters
    ----------
    paths : sequence of str or path-like, length N
        Missing values (None, NaN, "") are failures, not errors.
    size : int or (H, W), default (64, 64)
        Output height and width; an int means square. The aspect ratio is
        not kept (plain resize, no crop or pad).
    resample : {"bilinear", "nearest", "bicubic", "lanczos", "box", "hamming"}
        Pillow's filter for the resize (``Image.Resampling``), default bilinear
        (Pillow's antialiased bilinear, as ``Image.resize`` does).
    draft : bool, default False
        For JPEGs, let libjpeg decode at a power-of-two reduced scale that
        is still at least ``size`` (``Image.draft``): much faster on large
        photographs, slightly different pixels from a full decode.
    n_jobs : int, optional
        Decoding threads; default ``min(8, os.cpu_count())``.

    Returns
    -------
    images : (N, H, W, 3) uint8
        Row i is the i-th image; rows of failed items are zeros.
    failures : list of (int, str)
        ``(index, reason)`` for each item that could not be decoded, in index
        order.

    Notes
    -----
    Conversion to RGB: gray, palette, CMYK and YCbCr use Pillow's
    ``convert("RGB")``; an alpha channel is dropped, not composited (the
    colour under a transparent pixel is kept); a palette with transparency goes
    through RGBA first; 16-bit gray is scaled by 1/257. Multi-frame files
    (GIF, TIFF) give their first frame.

    Decompression bombs: an image with more pixels than
    ``PIL.Image.MAX_IMAGE_PIXELS`` (read at call time; ``None`` disables the
    check) is a failure, found from the header before any pixel is decoded.

    Examples
    --------
    >>> import pathlib, tempfile, numpy as np
    >>> from PIL import Image
    >>> from mmfeat.data import decode_images
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> Image.new("L", (40, 30), 255).save(d / "a.png")
    >>> _ = (d / "b.png").write_bytes(b"not a png")
    >>> x, failures = decode_images([d / "a.png", d / "b.png", None], size=(8, 16))
    >>> x.shape, x.dtype, int(x[0].min()), int(x[1].max())
    ((3, 8, 16, 3), dtype('uint8'), 255, 0)
    >>> failures
    [(1, 'not an image'), (2, 'missing value')]
    """
    from PIL import Image

    paths = _as_list(paths, "paths")
    size_hw = _check_size(size)
    if resample not in _RESAMPLE:
        raise ValueError(f"resample must be one of {_RESAMPLE}, got {resample!r}")
    filt = getattr(Image.Resampling, resample.upper())
    n = len(paths)
    out = np.zeros((n, *size_hw, 3), dtype=np.uint8)
    if n == 0:
        return out, []
    limit = Image.MAX_IMAGE_PIXELS
    jobs = _n_jobs(n_jobs, n)

    def one(i):
        return _decode_image(paths[i], out[i], size_hw, filt, limit, draft)

    # the header check above reports bombs; Pillow's own warning would only repeat it.
    # (warning filters are process-wide on this Python, so they hold in the workers)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        reasons = _run(one, n, jobs)
    failures = [(i, r) for i, r in enumerate(reasons) if r is not None]
    for i, _ in failures:
        out[i] = 0  # a partly written row must not look like data
    return out, failures


# --- audio --------------------------------------------------------------------------


def _decode_clip(path, sr):
    problem = _path_problem(path)
    if problem is not None:
        return None, problem
    try:
        y, _ = load(path, sr=sr, mono=True, dtype=np.float32)
    except PermissionError as exc:
        return None, f"unreadable file: {exc.strerror or exc}"
    except FileNotFoundError:
        return None, "file not found"
    except ValueError as exc:
        if "non-finite" in str(exc):
            return None, "non-finite audio"
        return None, f"corrupt audio: {exc}"
    except Exception as exc:
        return None, f"corrupt audio: {type(exc).__name__}: {exc}"
    if y.size == 0:
        return None, "empty audio"
    if not np.isfinite(y).all():
        return None, "non-finite audio"
    return y, None


def decode_audio(paths, sr, *, n_jobs: int | None = None):
    """Decode audio files to float32 mono clips at one sampling rate.

    Parameters
    ----------
    paths : sequence of str or path-like, length N
    sr : number > 0
        The rate every clip is resampled to (soxr HQ, as ``librosa.load``).
    n_jobs : int, optional
        Decoding threads; default ``min(8, os.cpu_count())``.

    Returns
    -------
    clips : list of length N
        A 1-D float32 array per decoded item (lengths differ); ``None`` for
        each failed item.
    failures : list of (int, str)
        ``(index, reason)``: ``empty audio`` for a file with no samples,
        ``non-finite audio`` for NaN/inf samples, ``corrupt audio: ...`` for
        what soundfile cannot decode, and the file reasons.

    See Also
    --------
    mmfeat.data.load : one file, librosa.load's semantics.

    Examples
    --------
    >>> import pathlib, tempfile, numpy as np, soundfile as sf
    >>> from mmfeat.data import decode_audio
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> sf.write(d / "a.wav", np.zeros((800, 2), np.int16), 8000)
    >>> sf.write(d / "b.wav", np.zeros(0, np.int16), 8000)
    >>> clips, failures = decode_audio([d / "a.wav", d / "b.wav"], sr=16000)
    >>> clips[0].shape, clips[0].dtype, clips[1], failures
    ((1600,), dtype('float32'), None, [(1, 'empty audio')])
    """
    paths = _as_list(paths, "paths")
    if sr is None or isinstance(sr, bool) or not isinstance(sr, numbers.Real):
        raise TypeError(f"sr must be a positive number, got {sr!r}")
    if not np.isfinite(sr) or sr <= 0:
        raise ValueError(f"sr must be a positive number, got {sr!r}")
    n = len(paths)
    if n == 0:
        return [], []
    results = _run(lambda i: _decode_clip(paths[i], sr), n, _n_jobs(n_jobs, n))
    clips = [y for y, _ in results]
    failures = [(i, r) for i, (_, r) in enumerate(results) if r is not None]
    return clips, failures


# --- text ---------------------------------------------------------------------------


def _check_form(form):
    if form not in ("NFC", "NFD", "NFKC", "NFKD", None):
        raise ValueError(f"form must be 'NFC', 'NFD', 'NFKC', 'NFKD' or None, got {form!r}")
    return form


def _read_text(path, form):
    problem = _path_problem(path)
    if problem is not None:
        return None, problem
    try:
        with open(path, "rb") as f:
            data = f.read()
    except PermissionError as exc:
        return None, f"unreadable file: {exc.strerror or exc}"
    except OSError as exc:
        return None, f"unreadable file: {exc.strerror or exc}"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"undecodable text: {exc.reason} at byte {exc.start}"
    if text.startswith("\ufeff"):
        text = text[1:]  # a byte-order mark is encoding, not content
    if form is not None:
        text = unicodedata.normalize(form, text)
    return text, None


def read_texts(paths, *, form: str | None = "NFC", n_jobs: int | None = None):
    """Read UTF-8 text files (a manifest's ``text_path`` column).

    Parameters
    ----------
    paths : sequence of str or path-like, length N
    form : {"NFC", "NFD", "NFKC", "NFKD"} or None, default "NFC"
        Unicode normalisation applied to each text; None keeps it as stored.
    n_jobs : int, optional
        Reading threads; default ``min(8, os.cpu_count())``.

    Returns
    -------
    texts : list of length N
        The text of each file (a leading UTF-8 byte-order mark removed);
        ``None`` for each failed item.
    failures : list of (int, str)
        ``undecodable text: ...`` for bytes that are not UTF-8 (strict decoding,
        nothing replaced), ``empty file``, and the other file reasons.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from mmfeat.data import read_texts
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.txt").write_bytes("cafe\\u0301".encode())
    >>> _ = (d / "b.txt").write_bytes(b"caf\\xe9!")
    >>> texts, failures = read_texts([d / "a.txt", d / "b.txt"])
    >>> texts[0] == "caf\\u00e9", texts[1], failures
    (True, None, [(1, 'undecodable text: invalid continuation byte at byte 3')])
    """
    paths = _as_list(paths, "paths")
    form = _check_form(form)
    n = len(paths)
    if n == 0:
        return [], []
    results = _run(lambda i: _read_text(paths[i], form), n, _n_jobs(n_jobs, n))
    texts = [t for t, _ in results]
    failures = [(i, r) for i, (_, r) in enumerate(results) if r is not None]
    return texts, failures


def normalize_text(texts, form: str = "NFC"):
    """Unicode-normalise inline texts (a manifest's ``text`` column).

    Parameters
    ----------
    texts : sequence, length N
    form : {"NFC", "NFD", "NFKC", "NFKD"}, default "NFC"

    Returns
    -------
    normalized : list of length N
        ``unicodedata.normalize(form, t)`` for each string; ``None`` for each
        failed item.
    failures : list of (int, str)
        ``missing value`` for None/NaN/blank strings (as :func:`clean` counts
        them) and ``not a string: <type>`` for
        anything else that is not a ``str`` (bytes are not guessed at).

    Examples
    --------
    >>> from mmfeat.data import normalize_text
    >>> out, failures = normalize_text(["cafe\\u0301", None, 3])
    >>> out[0] == "caf\\u00e9", out[1:], failures
    (True, [None, None], [(1, 'missing value'), (2, 'not a string: int')])
    """
    texts = _as_list(texts, "texts")
    if form is None:
        raise ValueError("form must be 'NFC', 'NFD', 'NFKC' or 'NFKD', got None")
    form = _check_form(form)
    out: list[str | None] = []
    failures = []
    for i, t in enumerate(texts):
        if isinstance(t, str) and t.strip() != "":
            out.append(unicodedata.normalize(form, t))
            continue
        out.append(None)
        if _is_missing(t):
            failures.append((i, "missing value"))
        else:
            failures.append((i, f"not a string: {type(t).__name__}"))
    return out, failures
