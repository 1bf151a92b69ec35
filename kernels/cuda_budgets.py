"""Machine-code budgets of the CUDA kernels (sm_90), checked without a GPU.

The budgets sit in one table so that they can be reviewed together: a change to
a kernel that moves its machine code shows up here, beside every other kernel's
figures, instead of in a comment next to one kernel. ``benchmarks/sass_budget.py``
compiles every kernel of ``image_cuda``, ``audio_cuda`` and ``text_cuda`` for the
launch signatures its launcher (``mmfeat/{image,audio,text}/_cuda.py``) uses, with
the launch shapes of ``mmfeat.config``, assembles it with ``ptxas -arch=sm_90``,
disassembles the cubin and compares the figures with this table
(``tests/test_sass_budget.py`` fails on any excess). Like the other modules of
``kernels/`` it imports nothing from the mmfeat package.

Per kernel (key: module and kernel, or factory, name):

- ``regs``: registers per thread (ptxas), at most;
- spills: always 0 bytes (spill stores and loads, ptxas), not listed per kernel;
- ``smem``: static shared memory in bytes (ptxas), at most;
- ``div64``: call sites of the 64-bit integer division/remainder subroutines
  (``CALL.REL`` to ``__cuda_sm20_{div,rem}_{s,u}64``), at most;
- ``cas``: compare-and-swap spin loops (loops holding an ``ATOMS/ATOMG/ATOM.CAS``
  or ``CAST.SPIN``), at most;
- ``fp64``: float64 SASS instructions (``DADD``, ``DMUL``, ``DFMA``, ``DSETP``,
  ``DMNMX``, conversions to or from F64, ``MUFU.*64H``, ``FRND.F64``), counted
  statically over the kernel and the subroutines it calls, at most;
- ``hot``: SASS instructions per output element of the hot loop, at most. A
  static estimate: (instructions in the hot region) / (outputs one pass of it
  makes per thread). ``hot_region`` names the region: ``"loop"``, the largest
  top-level loop of the kernel body (the grid-stride or chunk loop; the loops
  nested in it and all its branches counted once); ``"inner"``, the largest
  innermost loop (one step of a per-output reduction: a filter tap, a mel band);
  ``"after_sync:k"``, the code between the k-th block barrier and the next (the
  compute phase of a tiled kernel: its tile loaders come before); ``"body"``,
  the whole kernel body (one thread per output). The outputs are ``outputs``
  (default 1), or, with ``stores_per_output``, the region's global stores
  divided by it (ptxas unrolls simple grid-stride loops 4x, so the loop makes 4
  outputs a pass). Code on branches that a launch never takes counts too (a
  run-time colour space compiles all four), so the figure is a consistent and
  rather pessimistic regression measure, not a cycle count.

Where a kernel is known to be slow (issue 15), the budget is today's measured
figure, so that the check passes now and catches any regression; the issue's
targets for the redesigned kernels are in the comments (``target:``). A
redesign that meets them lowers the budget in the same change.
"""

# One row per kernel. Kernels with several launch signatures (float32/float64
# work types, RGB or gray) are checked in each of them against the same row.
# Today's figures (numba-cuda 0.30.4, NVVM and ptxas 13.5): every kernel here is
# either known to be slow (issue 15) or has never run on hardware, so each budget
# is its measured figure; a change that lowers one lowers its budget with it.
BUDGETS = {
    # --- image_cuda ---------------------------------------------------------------
    # hot: the grid-stride loop, which ptxas unrolls 4x (outputs counted by their stores)
    "image_cuda.rgb_to_gray": dict(
        regs=32, smem=0, div64=1, cas=0, fp64=65, hot=42,
        hot_region="loop", stores_per_output=1,
    ),
    "image_cuda.gray_u8_staged_kernel": dict(
        regs=64, smem=6144, div64=2, cas=0, fp64=130, hot=50,
        hot_region="loop", stores_per_output=1,
    ),
    "image_cuda.rgb_to_hsv": dict(
        regs=44, smem=0, div64=1, cas=0, fp64=260, hot=233,
        hot_region="loop", stores_per_output=3,
    ),
    # target: colour space a compile-time constant (no float64 HSV path compiled in:
    # fp64 0), no large tables, wide loads with next-chunk prefetch, warp-aggregated
    # atomics; <= 0.2 ms for 64x1024x1024. hot: the staged chunk loop, 8 pixels a thread
    "image_cuda.color_histogram_kernel": dict(
        regs=80, smem=22528, div64=4, cas=0, fp64=518, hot=121,
        hot_region="loop", outputs=8,
    ),
    # target: a register sliding window, clamped 32-bit indexing (div64 0), wide batched
    # loads; <= 0.35 ms float32 for 64x1024x1024. hot: the 4 unrolled output rows after
    # the tile is loaded (the loaders, ~80 instructions a tile pixel, come before)
    # issue 15 item 2: border mapping by image_cuda._border (32-bit remainders), while
    # loops in the byte-wise loader, unsigned tile/output indices in the compute rows:
    # regs 40 -> 40, hot 106 -> 63, div64 8 (6) -> 0, cas 0 -> 0, fp64 85 -> 53
    "image_cuda.sobel_kernel": dict(
        regs=40, smem=8296, div64=0, cas=0, fp64=53, hot=63,
        hot_region="after_sync:2", stores_per_output=1,
    ),
    # target: per-thread register bins and a warp reduction, no float64 shared atomics
    # (cas 0). hot: the 4 unrolled output rows after the tile is loaded
    # issue 15 item 2 (loader as sobel_kernel's): regs 50 -> 50, hot 111 -> 111,
    # div64 5 (3) -> 0, cas 1 -> 1, fp64 272 -> 240
    "image_cuda.gradient_histogram_kernel": dict(
        regs=50, smem=8808, div64=0, cas=1, fp64=240, hot=111,
        hot_region="after_sync:2", outputs=4,
    ),
    # canny, one thread per pixel (hot: the whole kernel). target: a fused front end
    # (gray, Gaussian, Sobel, suppression per tile), no 64-bit remainders in the border
    # mapping; hysteresis on bitmasks within tiles; <= 5 ms for 64x1024x1024
    # issue 15 item 2: _border's 32-bit remainders instead of boundary_index's 64-bit
    # ones: regs 32 -> 30, hot 626 -> 869, div64 6 (6) -> 0, fp64 7 -> 19. hot and fp64
    # rose statically: the six division subroutine calls a tap (their ~70-instruction
    # bodies, run per tap, were not counted) are now one inline remainder a call, and
    # LLVM unswitches the tap loop by mode (copies of its 2 float64 ops a tap); no
    # float operation was added to a path
    "image_cuda.gaussian_rows": dict(
        regs=30, smem=0, div64=0, cas=0, fp64=19, hot=869,
        hot_region="body",
    ),
    # as gaussian_rows: regs 30 -> 30, hot 662 -> 877, div64 6 (6) -> 0, fp64 7 -> 19
    "image_cuda.gaussian_cols": dict(
        regs=30, smem=0, div64=0, cas=0, fp64=19, hot=877,
        hot_region="body",
    ),
    # issue 15 item 2: the reflect border one step out is a clamp (min/max, no
    # remainder): regs 32 -> 31, hot 482 -> 216, div64 4 (0) -> 0, fp64 12 -> 12
    "image_cuda.gradient_magnitude": dict(
        regs=31, smem=0, div64=0, cas=0, fp64=12, hot=216,
        hot_region="body",
    ),
    # as gradient_magnitude: regs 48 -> 40, hot 796 -> 509, div64 4 (0) -> 0, fp64
    # 25 -> 26 (code layout: the same float64 operations on every path)
    "image_cuda.nonmax_suppression": dict(
        regs=40, smem=0, div64=0, cas=0, fp64=26, hot=509,
        hot_region="body",
    ),
    "image_cuda.cc_init": dict(
        regs=18, smem=0, div64=0, cas=0, fp64=0, hot=78,
        hot_region="body",
    ),
    "image_cuda.cc_merge": dict(
        regs=32, smem=0, div64=0, cas=0, fp64=0, hot=651,
        hot_region="body",
    ),
    "image_cuda.cc_mark_strong": dict(
        regs=22, smem=0, div64=0, cas=0, fp64=0, hot=130,
        hot_region="body",
    ),
    "image_cuda.cc_output": dict(
        regs=28, smem=0, div64=0, cas=0, fp64=0, hot=158,
        hot_region="body",
    ),
    # --- audio_cuda ---------------------------------------------------------------
    # Issue 15, item 2 (done): 3-D launch grids (x the contiguous inner axis, y frame
    # or row, z the clip; grid-stride ``while`` loops with uint64 indices: no
    # ``unravel`` division, no range() trip-count division, no signed-index wrap) and
    # a block-reduced peak for top_db (to_db_peak: one integer atomic.max a block on
    # an order-preserving key, no CAS loop). Budgets are the measured figures of that
    # redesign, before -> after in each comment (regs, hot, div64 (in loops), cas,
    # fp64); every output is bit-identical to the 1-D kernels' (simulator).
    # regs 36 -> 36, hot 326 -> 441, div64 6 (5) -> 0, fp64 12 -> 0. hot rose: the
    # region is the whole grid-stride nest, which now holds a 20-instruction row loop
    # for frames inside the clip (all but the edge frames; before: 326 a sample and two
    # 64-bit divisions) beside the padded-frame loop, which LLVM unswitches by padding
    # mode (three copies, the reflect one with its division-free remainder)
    "audio_cuda.frame_window": dict(
        regs=36, smem=0, div64=0, cas=0, fp64=0, hot=441,
        hot_region="loop",
    ),
    # regs 46 -> 33, hot 215 -> 172, div64 2 (1) -> 0, fp64 123 -> 103
    "audio_cuda.power": dict(
        regs=33, smem=0, div64=0, cas=0, fp64=103, hot=172,
        hot_region="loop",
    ),
    # hot: one filter tap of the inner loop over the filter's support
    # regs 53 -> 45, hot 225 -> 115, div64 2 (1) -> 0, fp64 129 -> 129
    "audio_cuda.power_mel": dict(
        regs=45, smem=0, div64=0, cas=0, fp64=129, hot=115,
        hot_region="inner",
    ),
    # regs 32 -> 28, smem 0 -> 4096 (the block's reduction scratch, 1024 values), hot
    # 232 -> 181, div64 4 (3) -> 0, cas 2 -> 0, fp64 9 -> 6
    "audio_cuda.to_db_peak": dict(
        regs=28, smem=4096, div64=0, cas=0, fp64=6, hot=181,
        hot_region="loop",
    ),
    # regs 32 -> 26, hot 289 -> 79, div64 4 (2) -> 0, fp64 26 -> 10
    "audio_cuda.to_db": dict(
        regs=26, smem=0, div64=0, cas=0, fp64=10, hot=79,
        hot_region="loop",
    ),
    # hot: one mel band of the inner loop of the DCT (now unrolled 4x: 46 a pass)
    # regs 32 -> 32, hot 160 -> 46, div64 4 (3) -> 0, fp64 62 -> 34
    "audio_cuda.floor_dct": dict(
        regs=32, smem=0, div64=0, cas=0, fp64=34, hot=46,
        hot_region="inner",
    ),
    # regs 66 -> 68, hot 3161 -> 3005, div64 2 (1) -> 0, fp64 569 -> 569 (one thread a
    # frame, as before: the descriptor sums keep librosa's order)
    "audio_cuda.spectral_stats": dict(
        regs=68, smem=0, div64=0, cas=0, fp64=569, hot=3005,
        hot_region="loop",
    ),
    # regs 46 -> 46, hot 1435 -> 1217, div64 9 (8) -> 0, fp64 124 -> 153 (the float64
    # zero-crossing threshold test in the loop copies LLVM unswitches by do_z / do_r /
    # padding mode; no float64 operation was added to a path)
    "audio_cuda.zcr_rms": dict(
        regs=46, smem=0, div64=0, cas=0, fp64=153, hot=1217,
        hot_region="loop",
    ),
    # regs 32 -> 38, hot 1134 -> 435, div64 3 (2) -> 0, fp64 43 -> 15 (one weighted sum
    # over a row of a (W + 1, W) table, edge rows then the taps, instead of three)
    "audio_cuda.savgol_rows": dict(
        regs=38, smem=0, div64=0, cas=0, fp64=15, hot=435,
        hot_region="loop",
    ),
    # --- text_cuda ----------------------------------------------------------------
    # one thread per document (term, row): hot is the grid-stride loop's body once, per
    # document, its inner loops over bytes and n-grams counted once. target (issue 15):
    # pinned host buffers, the vocabulary kept on the device, TF-IDF >= 20x scikit-learn
    "text_cuda.preprocess_word": dict(
        regs=56, smem=0, div64=1, cas=0, fp64=0, hot=1943,
        hot_region="loop",
    ),
    "text_cuda.hash_word_ngrams": dict(
        regs=48, smem=0, div64=3, cas=0, fp64=0, hot=801,
        hot_region="loop",
    ),
    "text_cuda.count_word_ngrams": dict(
        regs=48, smem=0, div64=1, cas=0, fp64=0, hot=813,
        hot_region="loop",
    ),
    "text_cuda.ngram_spans": dict(
        regs=56, smem=0, div64=1, cas=0, fp64=0, hot=1233,
        hot_region="loop",
    ),
    "text_cuda.verify_groups": dict(
        regs=23, smem=0, div64=1, cas=0, fp64=0, hot=131,
        hot_region="loop",
    ),
    "text_cuda.gather_spans": dict(
        regs=32, smem=0, div64=1, cas=0, fp64=0, hot=290,
        hot_region="loop",
    ),
    "text_cuda.tfidf_rows": dict(
        regs=40, smem=0, div64=1, cas=0, fp64=225, hot=1301,
        hot_region="loop",
    ),
}

#: spill stores and loads, bytes, for every kernel
MAX_SPILL_BYTES = 0

#: the figures a budget row bounds, as named in the report (benchmarks/sass_budget.py)
CHECKED = ("regs", "smem", "div64", "cas", "fp64", "hot")
