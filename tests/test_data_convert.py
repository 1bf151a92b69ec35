"""decode_images / decode_audio / read_texts / normalize_text: results and failure reasons."""

from __future__ import annotations

import unicodedata
import warnings

import numpy as np
import pytest
import soundfile as sf
from PIL import Image, ImageOps

from mmfeat.data import decode_audio, decode_images, load, normalize_text, read_texts


def _pattern(w, h, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def _pillow_reference(path, size_hw, resample=Image.Resampling.BILINEAR):
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")
        return np.asarray(im.resize((size_hw[1], size_hw[0]), resample))


def test_png_and_jpeg_match_pillow(tmp_path):
    paths = []
    for i, (w, h) in enumerate([(37, 23), (16, 16), (5, 90)]):
        p = tmp_path / f"{i}.png"
        Image.fromarray(_pattern(w, h, i)).save(p)
        paths.append(p)
    jp = tmp_path / "j.jpg"
    Image.fromarray(_pattern(50, 40)).save(jp, quality=90)
    paths.append(jp)
    for resample in ("bilinear", "nearest", "lanczos"):
        x, failures = decode_images(paths, size=(12, 20), resample=resample)
        assert failures == [] and x.shape == (4, 12, 20, 3) and x.dtype == np.uint8
        filt = getattr(Image.Resampling, resample.upper())
        for i, p in enumerate(paths):
            np.testing.assert_array_equal(x[i], _pillow_reference(p, (12, 20), filt))
    x1, _ = decode_images(paths, size=16, n_jobs=1)
    x4, _ = decode_images(paths, size=(16, 16), n_jobs=4)
    np.testing.assert_array_equal(x1, x4)
    same, _ = decode_images([paths[1]], size=16)  # already the right size: pixels untouched
    np.testing.assert_array_equal(same[0], _pattern(16, 16, 1))


def test_exif_orientation_applied(tmp_path):
    # left half white, right half black; orientation 6 = shown rotated 90 degrees clockwise
    arr = np.zeros((40, 80, 3), np.uint8)
    arr[:, :40] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    p = tmp_path / "rot.jpg"
    Image.fromarray(arr).save(p, exif=exif, quality=95)
    x, failures = decode_images([p], size=(80, 40))
    assert failures == []
    img = x[0].astype(int)
    # upright, the white half is on top
    assert img[:35].mean() > 240 and img[45:].mean() < 15
    np.testing.assert_array_equal(x[0], _pillow_reference(p, (80, 40)))


def test_modes_converted_to_rgb(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = 0  # fully transparent: the colour underneath is kept
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    Image.new("L", (4, 4), 77).save(tmp_path / "l.png")
    Image.new("LA", (4, 4), (90, 10)).save(tmp_path / "la.png")
    pal = Image.new("P", (4, 4), 1)
    pal.putpalette([0, 0, 0, 10, 20, 30] + [0] * 762)
    pal.save(tmp_path / "p.png")
    pal.info["transparency"] = 1
    pal.save(tmp_path / "pt.png", transparency=1)
    Image.fromarray(np.full((4, 4), 257 * 100, np.uint16)).save(tmp_path / "i16.png")
    Image.new("CMYK", (4, 4), (0, 0, 0, 0)).save(tmp_path / "cmyk.jpg")
    names = ["rgba.png", "l.png", "la.png", "p.png", "pt.png", "i16.png", "cmyk.jpg"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no Pillow warning about palette transparency
        x, failures = decode_images([tmp_path / n for n in names], size=4)
    assert failures == []
    px = x[:, 0, 0].tolist()
    assert px == [[200, 0, 0], [77] * 3, [90] * 3, [10, 20, 30], [10, 20, 30], [100] * 3,
                  [255] * 3]


def test_failures_have_reasons(tmp_path):
    good = tmp_path / "good.png"
    Image.fromarray(_pattern(30, 30)).save(good)
    data = good.read_bytes()
    (tmp_path / "trunc.png").write_bytes(data[: len(data) // 2])
    (tmp_path / "zero.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("hello, I am not a picture")
    (tmp_path / "dir.png").mkdir()
    paths = [good, tmp_path / "trunc.png", tmp_path / "zero.png", tmp_path / "text.png",
             tmp_path / "dir.png", tmp_path / "missing.png", None, float("nan"), "", good]
    x, failures = decode_images(paths, size=8)
    reasons = dict(failures)
    assert sorted(reasons) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert reasons[1].startswith("corrupt image: ")
    assert reasons[2] == "empty file"
    assert reasons[3] == "not an image"
    assert reasons[4] == "not a file"
    assert reasons[5] == "file not found"
    assert reasons[6] == reasons[7] == reasons[8] == "missing value"
    assert not x[1:9].any() and x[0].any()
    np.testing.assert_array_equal(x[0], x[9])


def test_decompression_bomb_is_a_failure(tmp_path, monkeypatch):
    Image.new("RGB", (12, 12)).save(tmp_path / "big.png")  # 144 px: over the limit
    Image.new("RGB", (40, 40)).save(tmp_path / "huge.png")  # 1600 px: Pillow itself refuses
    Image.new("RGB", (9, 9)).save(tmp_path / "ok.png")  # 81 px
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x, failures = decode_images(
            [tmp_path / "big.png", tmp_path / "huge.png", tmp_path / "ok.png"], size=4
        )
    assert [i for i, _ in failures] == [0, 1]
    assert all(r.startswith("decompression bomb") for _, r in failures)
    assert "144" in failures[0][1] or "12x12" in failures[0][1]


def test_draft_jpeg_close_to_full_decode(tmp_path):
    yy, xx = np.mgrid[0:256, 0:256]
    smooth = np.stack([xx, yy, (xx + yy) // 2], axis=-1).astype(np.uint8)
    p = tmp_path / "big.jpg"
    Image.fromarray(smooth).save(p, quality=95)
    full, _ = decode_images([p], size=32)
    fast, failures = decode_images([p], size=32, draft=True)
    assert failures == []
    assert np.abs(full.astype(int) - fast.astype(int)).mean() < 3


def test_decode_images_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="size must be"):
        decode_images([], size=(0, 4))
    with pytest.raises(ValueError, match="size must be"):
        decode_images([], size=(4, 4, 4))
    with pytest.raises(ValueError, match="resample must be"):
        decode_images([], resample="cubic")
    with pytest.raises(TypeError, match="paths must be a sequence"):
        decode_images("a.png")
    with pytest.raises(ValueError, match="n_jobs"):
        decode_images([tmp_path / "x.png"], n_jobs=0)
    x, failures = decode_images([], size=(3, 5))
    assert x.shape == (0, 3, 5, 3) and failures == []


# --- audio --------------------------------------------------------------------------


def test_decode_audio(tmp_path):
    rng = np.random.default_rng(0)
    stereo = (rng.standard_normal((1000, 2)) * 3000).astype(np.int16)
    sf.write(tmp_path / "s.wav", stereo, 8000)
    sf.write(tmp_path / "m.flac", stereo[:, 0], 16000)
    sf.write(tmp_path / "empty.wav", np.zeros(0, np.int16), 8000)
    nan = np.zeros(50, np.float32)
    nan[7] = np.nan
    sf.write(tmp_path / "nan.wav", nan, 16000, subtype="FLOAT")
    (tmp_path / "junk.wav").write_bytes(b"RIFFjunkjunkjunkjunkjunk")
    (tmp_path / "zero.wav").write_bytes(b"")
    paths = [tmp_path / n for n in ("s.wav", "m.flac", "empty.wav", "nan.wav", "junk.wav",
                                    "zero.wav", "missing.wav")] + [None]
    clips, failures = decode_audio(paths, sr=16000, n_jobs=3)
    assert len(clips) == len(paths)
    for i in (0, 1):
        ref, _ = load(paths[i], sr=16000)
        assert clips[i].dtype == np.float32 and clips[i].ndim == 1
        np.testing.assert_array_equal(clips[i], ref)
    assert clips[0].shape == (2000,)
    reasons = dict(failures)
    assert sorted(reasons) == [2, 3, 4, 5, 6, 7]
    assert all(clips[i] is None for i in reasons)
    assert reasons[2] == "empty audio"
    assert reasons[3] == "non-finite audio"
    assert reasons[4].startswith("corrupt audio: ") and "junk.wav" in reasons[4]
    assert reasons[5] == "empty file"
    assert reasons[6] == "file not found"
    assert reasons[7] == "missing value"


@pytest.mark.parametrize("sr,exc", [(0, ValueError), (-1, ValueError), (None, TypeError),
                                    ("16k", TypeError)])
def test_decode_audio_bad_sr(sr, exc):
    with pytest.raises(exc, match="sr must be a positive number"):
        decode_audio([], sr=sr)


# --- text ---------------------------------------------------------------------------


def test_read_texts(tmp_path):
    (tmp_path / "nfd.txt").write_bytes("cafe\u0301 \u212b".encode())
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbfhello")
    (tmp_path / "latin1.txt").write_bytes("d\u00e9j\u00e0 vu".encode("latin-1"))
    (tmp_path / "empty.txt").write_bytes(b"")
    paths = [tmp_path / n for n in ("nfd.txt", "bom.txt", "latin1.txt", "empty.txt", "no.txt")]
    texts, failures = read_texts(paths)
    assert texts[0] == unicodedata.normalize("NFC", "cafe\u0301 \u212b") == "caf\u00e9 \u00c5"
    assert texts[1] == "hello"
    assert texts[2:] == [None, None, None]
    reasons = dict(failures)
    assert reasons[2].startswith("undecodable text: ")
    assert reasons[3] == "empty file" and reasons[4] == "file not found"
    raw, _ = read_texts(paths[:1], form=None)
    assert raw[0] == "cafe\u0301 \u212b"
    with pytest.raises(ValueError, match="form must be"):
        read_texts(paths, form="nfc")


def test_normalize_text():
    out, failures = normalize_text(["A\u030a", "plain", None, float("nan"), "", "  ", 5, b"x"])
    assert out[:2] == ["\u00c5", "plain"] and out[2:] == [None] * 6
    assert failures == [(2, "missing value"), (3, "missing value"), (4, "missing value"),
                        (5, "missing value"), (6, "not a string: int"),
                        (7, "not a string: bytes")]
    out, _ = normalize_text(["\ufb01"], form="NFKC")
    assert out == ["fi"]
    with pytest.raises(TypeError, match="texts must be a sequence"):
        normalize_text("abc")
