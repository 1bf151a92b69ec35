"""The built-in multimodal demo dataset: deterministic, generated, no download.

Each item has a class label and three views of it:

- image: a handwritten digit from scikit-learn's ``load_digits`` (the digit is
  the class), upscaled, shifted, colourised with random colours, partly
  occluded and noised;
- audio: a synthetic vowel: a glottal pulse train at a random speaker's pitch,
  shaped by the class's formants (scaled by the speaker's vocal-tract length),
  spoken in one to three syllables of random tempo, with background noise;
- text: a short sentence of shared filler words with one or two topic words of
  the class, some of them swapped for another class's topic words.

Every view alone is imperfect by construction (noise, occlusion, speakers
whose formants overlap other classes', misleading words), and the views are
corrupted independently, so fusing them recovers most of what each one loses.

Items are generated in fixed chunks of :data:`CHUNK` items, each from its own
seeded stream, so the first ``k * CHUNK`` items of ``demo_dataset(n)`` do not
depend on ``n`` and a dataset can be generated part by part. Inside a chunk
they do: the random draws of a partial chunk are sized to its items (only
the labels are drawn for the whole chunk).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CHUNK = 4096
MAX_CLASSES = 10

# (F1, F2, F3) in Hz of ten English vowels (Peterson & Barney averages, men).
_FORMANTS = np.array(
    [
        [730, 1090, 2440],  # a
        [270, 2290, 3010],  # i
        [300, 870, 2240],  # u
        [530, 1840, 2480],  # e
        [570, 840, 2410],  # o
        [660, 1720, 2410],  # ae
        [390, 1990, 2550],  # I
        [440, 1020, 2240],  # U
        [640, 1190, 2390],  # uh
        [490, 1350, 1690],  # er
    ],
    dtype=np.float64,
)
_BANDWIDTHS = np.array([90.0, 110.0, 170.0])

_TOPICS = [
    "cat dog horse rabbit kitten puppy pony bunny",
    "rain snow storm cloud thunder wind fog hail",
    "bread cheese apple pasta soup salad cake rice",
    "football tennis soccer golf rugby hockey cricket boxing",
    "guitar piano violin drum flute trumpet cello harp",
    "train bus bicycle truck tram ferry taxi scooter",
    "river mountain forest valley lake desert island canyon",
    "doctor nurse teacher farmer pilot baker lawyer painter",
    "red green blue yellow purple orange silver golden",
    "monday tuesday friday weekend morning evening winter summer",
]
_FILLER = (
    "the a this that my our some every today yesterday really quite very "
    "about near with after before seems looked felt was is will might "
    "again also just still nice big small old new good strange lovely"
).split()


@dataclass
class DemoDataset:
    """A generated multimodal dataset held in memory.

    Attributes
    ----------
    ids : (N,) object array of str
    labels : (N,) int64 array, classes ``0 .. n_classes-1``
    images : (N, S, S, 3) uint8
    texts : list of N str
    audio : list of N float32 1-D arrays (lengths differ), at ``sr`` Hz
    sr : int
    class_names : list of str
    """

    ids: np.ndarray
    labels: np.ndarray
    images: np.ndarray
    texts: list
    audio: list
    sr: int
    class_names: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def modalities(self) -> dict:
        """``{"image": images, "text": texts, "audio": audio}``, what
        :class:`mmfeat.FeaturePipeline` takes."""
        return {"image": self.images, "text": self.texts, "audio": self.audio}

    def write_manifest(self, directory, *, image_format: str = "png") -> Path:
        """Write the items as image and WAV files plus ``manifest.csv``.

        Layout: ``directory/images/<id>.png``, ``directory/audio/<id>.wav``
        (16-bit PCM) and ``directory/manifest.csv`` with columns ``id``,
        ``label``, ``image``, ``text``, ``audio`` (paths relative to the
        manifest). Returns the manifest's path.
        """
        import pandas as pd
        import soundfile as sf
        from PIL import Image

        root = Path(directory)
        (root / "images").mkdir(parents=True, exist_ok=True)
        (root / "audio").mkdir(parents=True, exist_ok=True)
        image_paths, audio_paths = [], []
        for i, item_id in enumerate(self.ids):
            image_rel = f"images/{item_id}.{image_format}"
            audio_rel = f"audio/{item_id}.wav"
            Image.fromarray(self.images[i]).save(root / image_rel)
            sf.write(root / audio_rel, self.audio[i], self.sr, subtype="PCM_16")
            image_paths.append(image_rel)
            audio_paths.append(audio_rel)
        manifest = root / "manifest.csv"
        pd.DataFrame(
            {
                "id": self.ids,
                "label": self.labels,
                "image": image_paths,
                "text": self.texts,
                "audio": audio_paths,
            }
        ).to_csv(manifest, index=False)
        return manifest


def demo_dataset(
    n: int = 2000,
    *,
    n_classes: int = 5,
    image_size: int = 32,
    sr: int = 8000,
    seed: int = 0,
) -> DemoDataset:
    """Generate the demo dataset (see the module docstring).

    Parameters
    ----------
    n : int
        Number of items, >= 1.
    n_classes : int, 2 .. 10
        Classes are balanced in expectation (each item's class is drawn uniformly).
    image_size : int, >= 8
        Images are (image_size, image_size, 3) uint8.
    sr : int, >= 8000
        Audio sample rate; clips last 0.3 to 0.8 s.
    seed : int

    Returns
    -------
    DemoDataset

    Examples
    --------
    >>> from mmfeat.data import demo_dataset
    >>> d = demo_dataset(8, seed=1)
    >>> d.images.shape, len(d.texts), len(d.audio), d.labels.shape
    ((8, 32, 32, 3), 8, 8, (8,))
    """
    n = _int_at_least(n, 1, "n")
    n_classes = _int_at_least(n_classes, 2, "n_classes")
    if n_classes > MAX_CLASSES:
        raise ValueError(f"n_classes must be at most {MAX_CLASSES}, got {n_classes}")
    image_size = _int_at_least(image_size, 8, "image_size")
    sr = _int_at_least(sr, 8000, "sr")

    digits = _digits_by_class(n_classes)
    parts = []
    for start in range(0, n, CHUNK):
        count = min(CHUNK, n - start)
        rng = np.random.default_rng([seed, start // CHUNK])
        labels = rng.integers(0, n_classes, CHUNK)[:count]
        parts.append(
            (
                labels,
                _images(rng, labels, digits, image_size),
                _texts(rng, labels, n_classes),
                _audio(rng, labels, sr),
            )
        )
    labels = np.concatenate([p[0] for p in parts]).astype(np.int64)
    width = max(6, len(str(n - 1)))
    return DemoDataset(
        ids=np.array([f"item{i:0{width}d}" for i in range(n)], dtype=object),
        labels=labels,
        images=np.concatenate([p[1] for p in parts]),
        texts=[t for p in parts for t in p[2]],
        audio=[a for p in parts for a in p[3]],
        sr=sr,
        class_names=[f"class_{k}" for k in range(n_classes)],
    )


def _int_at_least(value, minimum: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _digits_by_class(n_classes: int) -> list[np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    images = d.images.astype(np.float32) / 16.0
    return [images[d.target == k] for k in range(n_classes)]


def _upsample_matrix(size: int, src: int = 8) -> np.ndarray:
    """(size, src) bilinear interpolation weights (pixel centres aligned)."""
    pos = (np.arange(size) + 0.5) * src / size - 0.5
    lo = np.clip(np.floor(pos).astype(int), 0, src - 1)
    hi = np.clip(lo + 1, 0, src - 1)
    frac = np.clip(pos - np.floor(pos), 0.0, 1.0)
    m = np.zeros((size, src), np.float32)
    m[np.arange(size), lo] += 1 - frac
    m[np.arange(size), hi] += frac
    return m


def _images(rng, labels, digits, size: int) -> np.ndarray:
    count = len(labels)
    glyphs = np.stack([digits[k][rng.integers(0, len(digits[k]))] for k in labels])
    # The digit fills 7/8 of the frame, at a random offset.
    inner = max(4, int(size * 0.875))
    up = _upsample_matrix(inner)
    glyphs = up @ glyphs @ up.T
    ink = np.zeros((count, size, size), np.float32)
    offsets = rng.integers(0, size - inner + 1, (count, 2))
    for dy in range(size - inner + 1):  # loop over offsets (a few), not items
        for dx in range(size - inner + 1):
            sel = (offsets[:, 0] == dy) & (offsets[:, 1] == dx)
            if sel.any():
                ink[sel, dy : dy + inner, dx : dx + inner] = glyphs[sel]
    # An occluding bar across a random row or column band.
    bar = rng.integers(0, size, count)
    vertical = rng.random(count) < 0.5
    band = max(2, size // 5)
    idx = np.arange(size)
    in_band = (idx[None, :] >= bar[:, None]) & (idx[None, :] < bar[:, None] + band)
    occluded = rng.random(count) < 0.4
    mask = np.where(vertical[:, None, None], in_band[:, None, :], in_band[:, :, None])
    ink = np.where(occluded[:, None, None] & mask, rng.random((count, 1, 1)), ink)
    # Random foreground and background colours, then noise.
    fg = rng.random((count, 1, 1, 3), dtype=np.float32)
    bg = rng.random((count, 1, 1, 3), dtype=np.float32)
    rgb = bg + (fg - bg) * ink[..., None]
    rgb += rng.normal(0.0, 0.10, rgb.shape).astype(np.float32)
    return (np.clip(rgb, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


def _texts(rng, labels, n_classes: int) -> list[str]:
    topics = [t.split() for t in _TOPICS[:n_classes]]
    out = []
    for k in labels:  # strings are built per item; there is no array form of a sentence
        n_words = int(rng.integers(4, 9))
        words = [_FILLER[i] for i in rng.integers(0, len(_FILLER), n_words)]
        n_topic = int(rng.integers(0, 4))  # 0 to 3 topic words
        for _ in range(n_topic):
            cls = k if rng.random() < 0.6 else int(rng.integers(0, n_classes))
            word = topics[cls][int(rng.integers(0, len(topics[cls])))]
            words.insert(int(rng.integers(0, len(words) + 1)), word)
        out.append(" ".join(words))
    return out


def _audio(rng, labels, sr: int) -> list[np.ndarray]:
    count = len(labels)
    lengths = rng.integers(int(0.3 * sr), int(0.8 * sr) + 1, count)
    # Draw every random parameter up front so the clips do not depend on the
    # sub-batching below (which only bounds the memory the synthesis needs).
    f0 = rng.uniform(90.0, 260.0, count)  # speaker pitch
    vibrato_hz = rng.uniform(3, 7, count)
    tract = rng.uniform(0.7, 1.35, count)  # vocal-tract length scales the formants
    tilt = rng.uniform(0.5, 2.0, count)  # spectral tilt: speaker and microphone
    syllables = rng.integers(1, 4, count)
    snr_db = rng.uniform(-18.0, -3.0, count)
    seeds = rng.integers(0, 2**63, count // _AUDIO_SUB + 1)
    out = []
    for j, lo in enumerate(range(0, count, _AUDIO_SUB)):
        sl = slice(lo, min(lo + _AUDIO_SUB, count))
        out += _synth_vowels(
            np.random.default_rng(seeds[j]), sr, labels[sl], lengths[sl], f0[sl],
            vibrato_hz[sl], tract[sl], tilt[sl], syllables[sl], snr_db[sl],
        )
    return out


_AUDIO_SUB = 256


def _synth_vowels(rng, sr, labels, lengths, f0, vibrato_hz, tract, tilt, syllables, snr_db):
    import scipy.fft

    count = len(labels)
    t_max = int(lengths.max())
    t = np.arange(t_max, dtype=np.float32) / np.float32(sr)
    # Glottal pulse train: one pulse each time the pitch phase wraps (the
    # phase is accumulated in float64 so that long clips keep their pitch).
    vibrato = np.sin((2 * np.pi * vibrato_hz[:, None]).astype(np.float32) * t)
    vibrato *= np.float32(0.03)
    vibrato += np.float32(1.0)
    vibrato *= (f0[:, None] / sr).astype(np.float32)
    phase = np.cumsum(vibrato, axis=1, dtype=np.float64)
    source = np.diff(np.floor(phase), axis=1, prepend=0.0).astype(np.float32)
    source += 0.05 * rng.standard_normal(source.shape, dtype=np.float32)
    # Formant envelope applied in the frequency domain, one row per clip.
    formants = _FORMANTS[labels] * tract[:, None]
    n_fft = scipy.fft.next_fast_len(t_max, real=True)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    env = np.zeros((count, len(freqs)))
    for j in range(3):
        env += 1.0 / (1.0 + ((freqs[None, :] - formants[:, j : j + 1]) / _BANDWIDTHS[j]) ** 2)
    env *= np.exp(-tilt[:, None] * np.log1p(freqs / 800.0)[None, :])
    spec = scipy.fft.rfft(source, n_fft, axis=1, workers=-1)
    spec *= env.astype(np.float32)
    y = scipy.fft.irfft(spec, n_fft, axis=1, workers=-1)[:, :t_max]
    # One to three syllables: a raised-cosine loudness envelope per syllable.
    cycles = (2 * np.pi * syllables / lengths).astype(np.float32)
    pos = np.minimum(np.arange(t_max, dtype=np.float32)[None, :], lengths[:, None])
    y *= np.float32(0.5) - np.float32(0.5) * np.cos(pos * cycles[:, None])
    y /= np.abs(y).max(axis=1, keepdims=True) + 1e-12
    noise_rms = np.sqrt(np.mean(y**2, axis=1)) / 10 ** (snr_db / 20)
    y += noise_rms[:, None].astype(np.float32) * rng.standard_normal(y.shape, dtype=np.float32)
    y *= 0.5 / (np.abs(y).max(axis=1, keepdims=True) + 1e-12)
    y = y.astype(np.float32, copy=False)
    return [y[i, : lengths[i]].copy() for i in range(count)]
