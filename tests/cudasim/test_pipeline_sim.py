"""The pipeline with ``backend="cuda"`` under the simulator: every extractor runs
(image, audio and the TF-IDF on the CUDA kernels, the LSA on the host, as
``default_extractors`` documents) and the FeatureSet equals the cpu backend's."""

import numpy as np

from mmfeat import FeaturePipeline
from mmfeat.data import demo_dataset
from mmfeat.pipeline import default_extractors


def test_pipeline_on_cuda_matches_cpu():
    d = demo_dataset(5, image_size=8, seed=3)
    # short clips: the simulator runs one Python thread per CUDA thread (frame)
    clips = [a[: 300 + 50 * i] for i, a in enumerate(d.audio)]
    data = {**d.modalities, "audio": clips, "id": d.ids, "label": d.labels}
    sets = {}
    for backend in ("cpu", "cuda"):
        extractors = default_extractors(sr=d.sr, text_components=3, image_grid=(1, 1),
                                        backend=backend)
        sets[backend] = FeaturePipeline(extractors, backend=backend).fit_transform(data)
    cpu, cuda = sets["cpu"], sets["cuda"]
    assert cpu.block_columns == cuda.block_columns
    assert list(cuda.ids) == list(d.ids)
    for m in cpu.blocks:
        # audio: the cpu path's float32 log and DCT order differ from the device's by
        # ~1e-5 (MFCC in dB; see tests/cudasim/test_audio_sim.py)
        atol = 1e-3 if m == "audio" else 1e-6
        np.testing.assert_allclose(np.asarray(cuda.blocks[m]), cpu.blocks[m],
                                   rtol=1e-4, atol=atol, err_msg=m)
