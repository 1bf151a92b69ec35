"""The pipeline with ``backend="cuda"`` under the simulator: every extractor runs
(image on the CUDA kernels, text and audio on the CPU as ``default_extractors``
documents) and the FeatureSet equals the cpu backend's."""

import numpy as np

from mmfeat import FeaturePipeline
from mmfeat.data import demo_dataset
from mmfeat.pipeline import default_extractors


def test_pipeline_on_cuda_matches_cpu():
    d = demo_dataset(5, image_size=8, seed=3)
    data = {**d.modalities, "id": d.ids, "label": d.labels}
    sets = {}
    for backend in ("cpu", "cuda"):
        extractors = default_extractors(sr=d.sr, text_components=3, image_grid=(1, 1),
                                        backend=backend)
        sets[backend] = FeaturePipeline(extractors, backend=backend).fit_transform(data)
    cpu, cuda = sets["cpu"], sets["cuda"]
    assert cpu.block_columns == cuda.block_columns
    assert list(cuda.ids) == list(d.ids)
    for m in cpu.blocks:
        np.testing.assert_allclose(np.asarray(cuda.blocks[m]), cpu.blocks[m],
                                   rtol=1e-5, atol=1e-6, err_msg=m)
