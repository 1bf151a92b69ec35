"""The data steps chained as the pipeline runs them: every manifest row ends up
kept (decoded) or rejected, once, with its reason."""

from __future__ import annotations

import numpy as np
import pandas as pd
import soundfile as sf
from PIL import Image

from mmfeat.data import (
    clean,
    decode_audio,
    decode_images,
    integrate,
    normalize_text,
    read_manifest,
    read_texts,
    reject_failures,
    summarize,
)


def test_manifest_to_arrays(tmp_path):
    rng = np.random.default_rng(1)
    for i in range(6):
        pixels = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(tmp_path / f"{i}.png")
        sf.write(tmp_path / f"{i}.wav", (rng.standard_normal(400) * 2000).astype(np.int16), 8000)
        (tmp_path / f"{i}.txt").write_text(f"text number {i}", encoding="utf-8")
    good = (tmp_path / "0.png").read_bytes()
    (tmp_path / "2.png").write_bytes(good[:60])  # truncated: found only when decoded
    sf.write(tmp_path / "3.wav", np.zeros(0, np.int16), 8000)  # no samples
    (tmp_path / "4.txt").write_bytes(b"\xff\xfe bad")  # not UTF-8
    rows = [{"id": i, "label": i % 2, "split": "train", "image": f"{i}.png",
             "text_path": f"{i}.txt", "audio": f"{i}.wav"} for i in range(6)]
    rows.append({"id": 6, "label": 0, "split": "test", "image": "../0.png",
                 "text_path": "0.txt", "audio": "0.wav"})
    pd.DataFrame(rows).to_parquet(tmp_path / "m.parquet")

    manifest = read_manifest(tmp_path / "m.parquet")
    kept, rejects = clean(manifest)
    assert rejects["reason"].tolist() == ["path outside manifest folder"]
    images, failures = decode_images(kept["image"], size=(16, 16))
    kept, rejects = reject_failures(kept, rejects, failures, "image")
    clips, failures = decode_audio(kept["audio"], sr=16000)
    kept, rejects = reject_failures(kept, rejects, failures, "audio")
    texts, failures = read_texts(kept["text_path"])
    kept, rejects = reject_failures(kept, rejects, failures, "text")

    assert kept["id"].tolist() == [0, 1, 5]
    assert kept["split"].tolist() == ["train"] * 3
    got = dict(zip(rejects["row"], zip(rejects["modality"], rejects["reason"], strict=True),
                   strict=True))
    assert got == {6: ("image", "path outside manifest folder"), 2: ("image", "corrupt image"),
                   3: ("audio", "empty audio"), 4: ("text", "undecodable text")}
    s = summarize(len(manifest), rejects)
    assert s == {"input": 7, "kept": 3, "rejected": 4, "by_reason": {
        "corrupt image": 1, "empty audio": 1, "path outside manifest folder": 1,
        "undecodable text": 1}}

    # per-modality tables joined back on id
    img = pd.DataFrame({"id": [0, 1, 3, 5], "image": list(images[[0, 1, 3, 4]])})
    txt = pd.DataFrame({"id": [5, 1, 0], "text": normalize_text(["e", "b", "a"])[0]})
    joined, report = integrate({"image": img, "text": txt})
    assert joined["id"].tolist() == [0, 1, 5] and report.missing["text"] == [3]
