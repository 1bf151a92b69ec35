"""Speech-like test signals for the audio tests (librosa ships no offline speech:
``librosa.ex`` downloads), and checks that they are what the parity tests need.

``speech_clips()`` synthesises, at 16 kHz: voiced vowels (a jittered glottal pulse
train through formant resonators, with amplitude and pitch contours), a fricative
(high-passed noise burst), a chirp in noise, a quiet clip 50 dB down (so per-clip
``top_db`` matters) and silence-padded speech; lengths differ and include clips
shorter than ``n_fft``.
"""

from __future__ import annotations

import numpy as np
import scipy.signal

SR = 16000

# (F1, F2, F3) Hz of a few vowels (Peterson & Barney averages)
VOWELS = {"a": (730, 1090, 2440), "i": (270, 2290, 3010), "u": (300, 870, 2240),
          "e": (530, 1840, 2480)}


def _resonator(x, f, bw, sr):
    r = np.exp(-np.pi * bw / sr)
    a = [1.0, -2 * r * np.cos(2 * np.pi * f / sr), r * r]
    return scipy.signal.lfilter([1.0 - r], a, x)


def vowel(name, dur, rng, sr=SR, f0=(120.0, 100.0)):
    n = int(dur * sr)
    f0_t = np.linspace(f0[0], f0[1], n) * (1 + 0.01 * rng.standard_normal(n).cumsum() / 50)
    phase = np.cumsum(f0_t / sr)
    pulses = np.diff(np.floor(phase), prepend=0.0)  # one impulse per period
    src = scipy.signal.lfilter([1.0], [1.0, -0.97], pulses)  # glottal roll-off
    x = src
    for f, bw in zip(VOWELS[name], (80, 90, 120), strict=True):
        x = _resonator(x, f, bw, sr) * 4
    env = np.sin(np.pi * np.linspace(0, 1, n)) ** 0.5
    x = x * env + 0.002 * rng.standard_normal(n)
    return x / np.abs(x).max() * 0.5


def fricative(dur, rng, sr=SR):
    n = int(dur * sr)
    b, a = scipy.signal.butter(4, 3500 / (sr / 2), "high")
    return 0.1 * scipy.signal.lfilter(b, a, rng.standard_normal(n)) * np.hanning(n)


def speech_clips(seed=0):
    """list of float32 1-D clips at 16 kHz (lengths 16000, 11200, 8800, 4800, 300)."""
    rng = np.random.default_rng(seed)
    word = np.concatenate([fricative(0.12, rng), vowel("a", 0.3, rng), np.zeros(800),
                           vowel("i", 0.25, rng), fricative(0.08, rng), vowel("u", 0.25, rng)])
    word = np.pad(word, (int(0.04 * SR), 0))[:SR]
    t = np.arange(int(0.7 * SR)) / SR
    chirp = 0.3 * scipy.signal.chirp(t, 100, t[-1], 6000) + 0.02 * rng.standard_normal(t.size)
    quiet = 10 ** (-50 / 20) * vowel("e", 0.55, rng, f0=(200.0, 230.0))
    short = vowel("a", 0.3, rng, f0=(150.0, 140.0))
    tiny = vowel("i", 300 / SR, rng)
    clips = [word, chirp, quiet, short, tiny]
    return [np.ascontiguousarray(c, dtype=np.float32) for c in clips]


def test_speech_clips_are_voiced_and_varied():
    clips = speech_clips()
    assert [c.shape[0] for c in clips] == [16000, 11200, 8800, 4800, 300]
    assert all(c.dtype == np.float32 and np.isfinite(c).all() for c in clips)
    # voiced: the strongest component is a low harmonic; the fricatives put energy
    # above 3.5 kHz; the quiet clip is ~50 dB down
    f, p = scipy.signal.welch(clips[0], SR, nperseg=1024)
    assert 80 < f[np.argmax(p)] < 1500
    assert p[f > 3500].sum() > 1e-3 * p.sum()
    level = [20 * np.log10(np.sqrt(np.mean(c.astype(float) ** 2))) for c in clips]
    assert level[0] - level[2] > 40
