"""mmfeat.data.load against librosa.load on generated WAV/FLAC files."""

from __future__ import annotations

import io

import librosa
import numpy as np
import pytest
import soundfile as sf

from mmfeat.data import load


def _signal(n, channels, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 8000.0
    base = 0.5 * np.sin(2 * np.pi * 440 * t)[:, None] + 0.2 * rng.standard_normal((n, channels))
    return np.clip(base, -0.99, 0.99)


def _write(path, data, sr, subtype):
    if subtype.startswith("PCM_16"):
        data = np.round(data * 32767).astype(np.int16)
    elif subtype == "PCM_32":
        data = np.round(data * (2**31 - 1)).astype(np.int32)
    elif subtype == "PCM_24":
        data = np.round(data * (2**23 - 1)).astype(np.int32) << 8  # 24 significant bits
    else:
        data = data.astype(np.float32)
    sf.write(path, data, sr, subtype=subtype)


CASES = [
    ("wav", "PCM_16", 1),
    ("wav", "PCM_16", 2),
    ("wav", "PCM_32", 2),
    ("wav", "FLOAT", 1),
    ("wav", "FLOAT", 3),
    ("flac", "PCM_16", 2),
    ("flac", "PCM_24", 1),
    ("ogg", "VORBIS", 2),
]


@pytest.mark.parametrize("ext,subtype,channels", CASES)
@pytest.mark.parametrize("sr", [None, 8000, 16000, 11025])
@pytest.mark.parametrize("mono", [True, False])
def test_load_matches_librosa(tmp_path, ext, subtype, channels, sr, mono):
    path = tmp_path / f"clip.{ext}"
    _write(path, _signal(2001, channels), 8000, subtype)
    y, got_sr = load(path, sr=sr, mono=mono)
    ref, ref_sr = librosa.load(path, sr=sr, mono=mono)
    assert got_sr == ref_sr
    assert y.dtype == ref.dtype == np.float32
    assert y.shape == ref.shape
    np.testing.assert_allclose(y, ref, rtol=0, atol=1e-6)
    if mono or channels == 1:
        assert y.ndim == 1
    else:
        assert y.shape[0] == channels


def test_int16_scaling_exact(tmp_path):
    path = tmp_path / "s.wav"
    pcm = np.array([-32768, -16384, 0, 16384, 32767], np.int16)
    sf.write(path, pcm, 8000, subtype="PCM_16")
    y, sr = load(path)
    assert sr == 8000
    np.testing.assert_array_equal(y, pcm.astype(np.float32) / 32768)
    y64, _ = load(path, dtype=np.float64)
    assert y64.dtype == np.float64


def test_file_object_and_float64(tmp_path):
    buf = io.BytesIO()
    sf.write(buf, _signal(500, 2), 8000, format="FLAC", subtype="PCM_16")
    buf.seek(0)
    y, sr = load(buf, sr=4000, dtype="float64")
    buf.seek(0)
    ref, _ = librosa.load(buf, sr=4000, dtype=np.float64)
    assert y.dtype == np.float64 and sr == 4000
    np.testing.assert_allclose(y, ref, atol=1e-12)


def test_empty_audio_gives_empty_array(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros(0, np.int16), 8000, subtype="PCM_16")
    y, sr = load(path)
    assert y.shape == (0,) and sr == 8000
    y, sr = load(path, sr=16000)
    assert y.shape == (0,) and sr == 16000


def test_errors_name_the_path(tmp_path):
    missing = tmp_path / "nope.wav"
    with pytest.raises(FileNotFoundError, match="nope.wav"):
        load(missing)
    with pytest.raises(IsADirectoryError, match="is a directory"):
        load(tmp_path)
    zero = tmp_path / "zero.wav"
    zero.write_bytes(b"")
    with pytest.raises(ValueError, match="zero.wav.*empty"):
        load(zero)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF\x00\x00not really a wave file" * 4)
    with pytest.raises(ValueError, match="could not decode audio file .*junk.wav"):
        load(junk)


def test_truncated_wav_still_reads_its_frames_or_fails_clearly(tmp_path):
    path = tmp_path / "t.wav"
    sf.write(path, np.round(_signal(1000, 1) * 32767).astype(np.int16), 8000, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    try:
        y, _ = load(path)
    except ValueError as exc:
        assert "t.wav" in str(exc)
    else:  # libsndfile reads the frames that are there
        assert 0 < y.shape[0] < 1000


@pytest.mark.parametrize("sr", [0, -8000, float("nan")])
def test_bad_sr(tmp_path, sr):
    path = tmp_path / "s.wav"
    sf.write(path, np.zeros(10, np.int16), 8000)
    with pytest.raises(ValueError, match="sr must be a positive number"):
        load(path, sr=sr)


def test_bad_types(tmp_path):
    path = tmp_path / "s.wav"
    sf.write(path, np.zeros(10, np.int16), 8000)
    with pytest.raises(TypeError, match="sr must be"):
        load(path, sr="16000")
    with pytest.raises(TypeError, match="sr must be"):
        load(path, sr=True)
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        load(path, dtype=np.int16)


def test_non_finite_samples_rejected_when_mixing(tmp_path):
    path = tmp_path / "nan.wav"
    data = np.zeros((10, 2), np.float32)
    data[3, 1] = np.nan
    sf.write(path, data, 8000, subtype="FLOAT")
    with pytest.raises(ValueError, match="non-finite"):
        load(path)
    y, _ = load(path, mono=False)  # nothing to mix or resample: returned as stored
    assert np.isnan(y[1, 3])
