"""Tunables of the audio backends (kept here so that tests can shrink them)."""

#: working-set bytes per chunk of clips in the CPU spectral pipeline (frames, rFFT
#: output and power spectrum of one chunk), so memory stays bounded for long inputs.
#: Chunks are large on purpose: every chunk costs several parallel regions, and on a
#: busy 2-core machine each region's OpenMP barrier costs milliseconds (2 MB chunks
#: ran 20x slower than 64 MB ones for 512 one-second clips under load)
CPU_CHUNK_BYTES = 64 << 20
#: rFFT worker threads for scipy.fft (-1: all cores)
FFT_WORKERS = -1
#: mel projection as a sparse Numba pass fused with the power spectrum (True) or as
#: a stored power spectrum times the dense basis in one BLAS matmul (False). A mel
#: filter spans a few FFT bins, so the sparse pass does ~2 multiply-adds per bin
#: against n_mels for the matmul: 512 one-second clips, 64 mels: 36 ms for the matmul
#: alone vs ~10 ms for the fused pass (2-core machine)
MEL_SPARSE = True
#: cuda: frames per block of the STFT pipeline (None: as many as fit in
#: ``mmfeat.config.GPU_MEMORY_FRACTION`` of free device memory). Long signals are
#: framed, transformed and reduced block by block, so memory stays bounded.
CUDA_FRAMES_PER_BLOCK: int | None = None
#: stft (complex output) frames the whole batch at once when the frames take at most
#: this many bytes: the rFFT's own output is then returned without a copy, and the
#: frames are no larger than that output. Above it, chunks of CPU_CHUNK_BYTES.
STFT_ONE_SHOT_BYTES = 512 << 20
