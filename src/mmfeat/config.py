"""Every tunable of the package, in one place (the kernels take theirs as arguments).

Numba's fastmath stays off in every kernel (``kernels/*.py``): it changes results
in the last bits, and parity with the anchors needs them.

Tests shrink these (as stumpy shrinks its THREADS_PER_BLOCK) so that the CUDA
simulator stays fast; CUDA kernels whose shared-memory sizes depend on them are
built by factories memoized on the values, so a change takes effect on the next
call.
"""

from __future__ import annotations

# --- CUDA launch shapes -------------------------------------------------------
#: threads per block for 1-D element-wise kernels
THREADS_PER_BLOCK = 256
#: 2-D tile (x = columns, y = rows) for stencil kernels; the shared-memory tile is
#: (TILE_Y + 2) x (TILE_X + 2)
TILE_X = 32
TILE_Y = 8
#: output rows per thread in the stencil kernels (block tile = TILE_Y * this rows);
#: on an H100, 4 rows ran Sobel in 1.05 ms against 1.37 ms for 1 (64 x 1 Mpixel)
TILE_ROWS_PER_THREAD = 4
#: Sobel by the register sliding window (issue 15: 4 columns a thread walking a strip
#: of rows, 32-bit word loads); False: the shared-memory tile kernel it replaces
#: (kept for side-by-side timing, benchmarks/gpu_kernel_events.py)
SOBEL_WINDOW = True
#: blocks per image for histogram kernels (each block keeps a private histogram
#: in shared memory and flushes it with one atomic add per bin)
HIST_BLOCKS_PER_IMAGE = 64
#: histogram threads walk contiguous runs of pixels and add equal-bin runs at once
#: (True), or stride over the image one pixel per step (False). On an H100 the
#: strided walk was faster (1.02 ms vs 1.66 ms for 64 1024x1024 photographs):
#: its loads coalesce, and per-warp shared copies already absorb the contention.
HIST_CONTIGUOUS_RUNS = False
#: int32 counters of shared memory per histogram block (48 KiB): a joint histogram
#: of up to this many bins is counted there, in as many per-warp copies as fit;
#: larger ones count straight into global memory
SHARED_HIST_MAX_BINS = 12288
#: read uint8 images as 32-bit words staged through shared memory (rgb_to_gray,
#: sobel, gradient_histogram, color_histogram): a byte per load leaves too few
#: bytes in flight per thread to reach the memory bandwidth. False: byte loads
#: (also taken whenever a batch's address or size is not a multiple of 4)
STAGED_U8_LOADS = True
#: pixels per thread per staged chunk (a multiple of 4: whole words per thread)
STAGED_PIXELS_PER_THREAD = 8
#: cap on blocks of the grid-stride staged kernels (an H100 keeps about 1000 resident)
STAGED_MAX_BLOCKS = 4096
#: orientation bins the gradient histogram sums per thread (float64, in shared memory:
#: bins x TILE_X x TILE_Y x 8 bytes, at most 32 KiB); more: float64 global atomics
GRAD_HIST_SHARED_BINS = 16

# --- chunking -----------------------------------------------------------------
#: fraction of free device memory one chunk of a GPU batch may use
GPU_MEMORY_FRACTION = 0.5
#: hard cap on images per GPU chunk (None: only memory decides)
GPU_MAX_CHUNK_ITEMS: int | None = None
#: rows per task in the CPU stencil kernels (a task's working set stays in cache)
CPU_ROWS_PER_TASK = 32
#: pixels per task in the CPU histogram kernels
CPU_PIXELS_PER_TASK = 1 << 18

# --- audio --------------------------------------------------------------------
#: clips of different lengths are grouped into buckets padded to their longest clip,
#: with at most this fraction of padding over their real samples (AudioFeatures):
#: padding a whole batch of speech (longest ~5x the median) to its longest clip
#: quintupled the samples computed
AUDIO_MAX_PADDING = 0.15
#: working-set bytes per chunk of clips in the CPU spectral pipeline (frames, rFFT
#: output and power spectrum of one chunk), so memory stays bounded for long inputs.
#: Chunks are large on purpose: every chunk costs several parallel regions, and on a
#: busy 2-core machine each region's OpenMP barrier costs milliseconds (2 MB chunks
#: ran 20x slower than 64 MB ones for 512 one-second clips under load)
AUDIO_CPU_CHUNK_BYTES = 64 << 20
#: rFFT worker threads for scipy.fft (-1: all cores)
AUDIO_FFT_WORKERS = -1
#: chroma_stft / spectral_contrast (cpu): frames of at most this many bytes are
#: transformed at once, clips sorted by length so that a group is cut to its longest
#: clip. Small on purpose: a fresh array above glibc's mmap threshold page-faults on
#: first touch, and rFFTs of 4 MB of float64 frames ran ~4x faster per frame than of
#: 64 MB on a 2-core VM (chroma needs whole clips in a group: one long clip may exceed it)
AUDIO_CHROMA_CHUNK_BYTES = 4 << 20
#: melspectrogram / mfcc (cpu, 2+ threads): each worker thread frames, transforms
#: and projects chunks of whole clips holding about this many bytes of frames (a
#: chunk stays in L2 from framing to projection; no hand-off between stages)
AUDIO_WORKER_CHUNK_BYTES = 512 << 10
#: mel projection as a sparse Numba pass fused with the power spectrum (True) or as
#: a stored power spectrum times the dense basis in one BLAS matmul (False). A mel
#: filter spans a few FFT bins, so the sparse pass does ~2 multiply-adds per bin
#: against n_mels for the matmul: 512 one-second clips, 64 mels: 36 ms for the matmul
#: alone vs ~10 ms for the fused pass (2-core machine). The matmul's float32 sums
#: also change with BLAS's thread count (a Dask worker runs BLAS on one thread), the
#: sparse pass's do not
AUDIO_MEL_SPARSE = True
#: cuda: frames per block of the STFT pipeline (None: as many as fit in
#: ``GPU_MEMORY_FRACTION`` of free device memory). Long signals are
#: framed, transformed and reduced block by block, so memory stays bounded.
AUDIO_CUDA_FRAMES_PER_BLOCK: int | None = None
#: stft (complex output) frames the whole batch at once when the frames take at most
#: this many bytes: the rFFT's own output is then returned without a copy, and the
#: frames are no larger than that output. Above it, chunks of AUDIO_CPU_CHUNK_BYTES.
AUDIO_STFT_ONE_SHOT_BYTES = 512 << 20

# --- Dask (mmfeat.distributed) -------------------------------------------------
#: rows per partition when npartitions is not given: large enough that the
#: per-task overhead (a few ms) and the per-partition pipeline start are noise,
#: small enough that a lost worker costs little and 4 partitions per thread balance load
DASK_PARTITION_ROWS = 20_000
DASK_PARTITIONS_PER_THREAD = 4
#: pipeline batches per partition where the data allows: a partition's first batch is
#: decoded before any extraction overlaps it, so short partitions lose that overlap
DASK_BATCHES_PER_PARTITION = 4
#: merge fan-in of the TF-IDF statistics tree (dask.bag's split_every default is 8)
DASK_SPLIT_EVERY = 8
#: rows the client decodes to fit the (stateless) image/audio extractors
DASK_FIT_ROWS = 16
