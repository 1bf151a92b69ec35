"""Machine-code budgets of the CUDA kernels (sm_90), checked without a GPU.

The budgets sit in one table so that they can be reviewed together: a change to
a kernel that moves its machine code shows up here, beside every other kernel's
figures, instead of in a comment next to one kernel. ``benchmarks/sass_budget.py``
compiles every kernel of ``image_cuda``, ``image_texture_cuda``, ``audio_cuda``,
``audio_chroma_cuda`` and ``text_cuda`` for the
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
    # --- image_hist_cuda --------------------------------------------------------------
    # issue 15 item 2 (done): colour space and bins compile-time constants (factory
    # key); uint8 HSV bins integer-only (reciprocal multiplies from a 3 KiB shared
    # table, tie tables read only on a bin edge; no 192 KiB hue / 128 KiB S-V gather);
    # 6 word loads a thread a pass with the next pass's loads issued before the compute;
    # warp-aggregated shared atomics (match_any). hot: the pass loop, 8 pixels a thread
    # (the tie branches counted too). Workload signature: uint8 HSV (8, 8, 8); the uint8
    # RGB variant measures regs 32, fp64 0, hot 29.6.
    # image_cuda.color_histogram_kernel -> here: regs 80 -> 32, smem 22528 -> 19456,
    # hot 121 -> 99, div64 4 -> 0, cas 0 -> 0, fp64 518 -> 0
    "image_hist_cuda.color_histogram_kernel": dict(
        regs=32, smem=19456, div64=0, cas=0, fp64=0, hot=99,
        hot_region="loop", outputs=8,
    ),
    # issue 15 item 2 (done): per-thread float64 bins (a private shared-memory column
    # each: a plain load-add-store, no atomic), then per warp: lane sums, shuffle
    # reduction, one float64 global atomic (RED, native) a bin a block; no float64
    # shared atomic (cas 0). hot: the 4 unrolled output rows after the tile is loaded.
    # image_cuda.gradient_histogram_kernel -> here: regs 50 -> 48, smem 8808 -> 26728
    # (9 bins x 256 threads x 8 B), hot 111 -> 103, div64 0 -> 0, cas 1 -> 0, fp64
    # 240 -> 249 (the reduction's adds; the per-pixel float64 work is the reference's)
    "image_hist_cuda.gradient_histogram_kernel": dict(
        regs=48, smem=26728, div64=0, cas=0, fp64=249, hot=103,
        hot_region="after_sync:2", outputs=4,
    ),
    # issue 15 item 2 (done): sobel_kernel (shared-memory tile, staged loads; kept for
    # timing beside it, config.SOBEL_WINDOW = False, not in the workload) replaced by
    # sobel_window_kernel, a register sliding window: 4 columns a thread walking a
    # 64-row strip, 3 aligned 32-bit loads a row for 4 RGB pixels, float64 gray as two
    # DADDs on a shared per-channel product table (bit-identical to the reference),
    # the border mapped once a thread (no remainder in the loop), one barrier a row.
    # hot: the row loop with all its branches (word path, byte path for odd widths and
    # border columns, halo threads), per output (4 stores a pass). The word path alone
    # is ~104 an output, loads and gray included (gpu_model.py); the tile kernel's 63
    # counted its compute rows only, after ~80 a tile pixel of loaders.
    # sobel_kernel -> sobel_window_kernel: regs 40 -> 56, smem 8296 -> 10256, div64
    # 0 -> 0, cas 0 -> 0, fp64 53 -> 27, hot 63 (compute only) -> 135 (everything);
    # the float16-output signature: hot 136 (one F2F conversion a store)
    "image_cuda.sobel_window_kernel": dict(
        regs=56, smem=10256, div64=0, cas=0, fp64=27, hot=136,
        hot_region="loop", stores_per_output=1,
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
    # issue 15 item 2: the fused front end, one (TILE_X x TILE_Y) tile a block with its
    # gray halo (radius + 2) in shared memory: gaussian_rows + gaussian_cols +
    # gradient_magnitude + nonmax_suppression + cc_init in one launch, bit for bit
    # theirs (the staged five remain for masks, quantile thresholds and radii past
    # 40 KiB of windows). canny launches 9 -> 5; the float32 intermediates (rows
    # pass, smoothed plane, magnitude: 4 + 4 + 4 B written, 4 + 8 + 4 B read) and
    # cc_init's state read (1 B) no longer go through global memory: front end and
    # label init 42 -> 13 B a pixel (gray 4, bleed 4, state 1, labels 4), 29 saved.
    # Measured at sigma 1 (radius 4; smem grows with the radius: 14.6 KB at sigma 3):
    # regs 48, smem 8720, div64 0, cas 0, fp64 107, hot 2149 (static, the whole body
    # for its one output), against the five stages' 869 + 877 + 216 + 509 + 78 = 2549
    # and fp64 19 + 19 + 12 + 26 = 76 (the loader and tap loops are unswitched by
    # mode: copies of the same taps, no float operation added to a path)
    # issue 15 item 2: the border mode is a compile-time constant of the factory (one
    # kernel a mode, holding that mode's path; the bleed division only in constant
    # mode's). The workload's default (constant) mode: regs 48 -> 56, hot 2149 -> 1676,
    # fp64 107 -> 94 (smem 8720, div64 0, cas 0 unchanged). regs rose: one path,
    # scheduled without the mode branches, keeps more values live (56 regs at 256
    # threads a block: 4 blocks an SM, 5 at 48)
    # issue 15 (canny hysteresis): the front end packs the state into row masks (shared
    # atomics gather a tile's words, one global OR a word) instead of writing the state
    # (1 B) and cc_init's labels (4 B): 13 -> 8.25 B a pixel. regs 56 -> 48, smem 8720
    # -> 8784 (the mask words), hot 1676 -> 1769 (the packing), fp64 94 -> 94
    "image_cuda.canny_front_kernel": dict(
        regs=48, smem=8784, div64=0, cas=0, fp64=94, hot=1769,
        hot_region="body",
    ),
    # issue 15: hysteresis on bitmasks within 32 x 32 tiles, union-find over the tiles'
    # edge pixels only (kernels/image_cuda.py), replacing the global union-find over
    # every pixel: cc_init (hot 78), cc_merge (862), cc_mark_strong (158) and cc_output
    # (183), each one thread a pixel, 1281 a pixel in all (regs 18/32/24/29, cas 0,
    # fp64 0, no shared memory), removed. Now (one 32-thread block a
    # tile, a thread a row: 32 pixels a thread):
    # - hyst_pack: the staged front end's packing (masks, quantile thresholds); one
    #   thread a pixel, two global ORs a candidate;
    # - hyst_tile: hot the largest loop (one weak edge component's labelling, its mask
    #   growth inside) for 32 pixels; body 339;
    # - hyst_border: hot the bottom row's three joins (each a union: two finds and an
    #   atomic min) for the tile's edge pixels; body 1685;
    # - hyst_output: hot its largest loop; body 626.
    # The model (benchmarks/gpu_model.py) charges them per pixel from these bodies and
    # loops and the passes measured on the benchmark photographs.
    "image_cuda.hyst_pack": dict(
        regs=19, smem=0, div64=0, cas=0, fp64=0, hot=114,
        hot_region="body",
    ),
    "image_cuda.hyst_tile_kernel": dict(
        regs=30, smem=144, div64=0, cas=0, fp64=0, hot=116,
        hot_region="loop",
    ),
    "image_cuda.hyst_border_kernel": dict(
        regs=40, smem=0, div64=0, cas=0, fp64=0, hot=181,
        hot_region="loop",
    ),
    "image_cuda.hyst_output_kernel": dict(
        regs=32, smem=136, div64=0, cas=0, fp64=0, hot=317,
        hot_region="loop",
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
    # chroma_stft / spectral_contrast frame float32 clips into float64 frames (their
    # float64 FFT, for librosa parity of the band peaks): that signature's float64
    # stores and converts are fp64 16 and hot 449; the float32 signature is unchanged
    "audio_cuda.frame_window": dict(
        regs=36, smem=0, div64=0, cas=0, fp64=16, hot=449,
        hot_region="loop",
    ),
    # regs 46 -> 33, hot 215 -> 172, div64 2 (1) -> 0, fp64 123 -> 103
    # the complex128 spectrum of chroma_stft / spectral_contrast: fp64 103 -> 142,
    # hot 172 -> 190 (the complex64 signature of mfcc and AudioFeatures is unchanged)
    "audio_cuda.power": dict(
        regs=33, smem=0, div64=0, cas=0, fp64=142, hot=190,
        hot_region="loop",
    ),
    # hot: one filter tap of the inner loop over the filter's support
    # regs 53 -> 45, hot 225 -> 115, div64 2 (1) -> 0, fp64 129 -> 129
    # power_mel_kernel(square=True) (issue 15): |X|**2 and a float32 sum compiled in, 1-D row
    # views; the tap loop unrolled 16x. regs 45 -> 32, fp64 129 -> 0, hot 115 (one tap)
    # -> 107 (sixteen taps: 6.7 a tap)
    "audio_cuda.power_mel_kernel": dict(
        regs=32, smem=0, div64=0, cas=0, fp64=0, hot=107,
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
    # Issue 15, item 2 (done): pinned staging buffers (mmfeat._gpu.to_device/to_host),
    # the vocabulary's lookup table built on the device from the terms the fit left
    # there (insert_terms), cache=True on every kernel, and grid-stride ``while`` loops
    # (range(start, n, stride) computed its trip count with a 64-bit division call, the
    # one div64 of each kernel, outside the loop). before -> after in each comment
    # (regs, hot, div64 (in loops), cas, fp64)
    # regs 56 -> 56, hot 1943 -> 1941, div64 1 (0) -> 0, fp64 0 -> 0
    "text_cuda.preprocess_word": dict(
        regs=56, smem=0, div64=0, cas=0, fp64=0, hot=1941,
        hot_region="loop",
    ),
    # and hashed_column's two remainders in 32 bits (scikit-learn bounds n_features by
    # 2**31 - 1): regs 48 -> 48, hot 801 -> 753, div64 3 (2) -> 0, fp64 0 -> 0
    "text_cuda.hash_word_ngrams": dict(
        regs=48, smem=0, div64=0, cas=0, fp64=0, hot=753,
        hot_region="loop",
    ),
    # regs 48 -> 48, hot 813 -> 805, div64 1 (0) -> 0, fp64 0 -> 0
    "text_cuda.count_word_ngrams": dict(
        regs=48, smem=0, div64=0, cas=0, fp64=0, hot=805,
        hot_region="loop",
    ),
    # regs 56 -> 56, hot 1233 -> 1229, div64 1 (0) -> 0, fp64 0 -> 0
    "text_cuda.ngram_spans": dict(
        regs=56, smem=0, div64=0, cas=0, fp64=0, hot=1229,
        hot_region="loop",
    ),
    # regs 23 -> 21, hot 131 -> 128, div64 1 (0) -> 0, fp64 0 -> 0
    "text_cuda.verify_groups": dict(
        regs=21, smem=0, div64=0, cas=0, fp64=0, hot=128,
        hot_region="loop",
    ),
    # regs 32 -> 30, hot 290 -> 271, div64 1 (0) -> 0, fp64 0 -> 0
    "text_cuda.gather_spans": dict(
        regs=30, smem=0, div64=0, cas=0, fp64=0, hot=271,
        hot_region="loop",
    ),
    # new: the fitted vocabulary's open-addressing table filled on the device, one thread
    # a term. cas counts its linear probing, not a spin on one address (each failed
    # compare-and-swap moves to the next slot): the first probe is peeled into the
    # grid-stride loop and the rest is the probe loop nested in it, so two loops hold an
    # ATOMG.CAS. regs 20, hot 53, div64 0, cas 2, fp64 0
    "text_cuda.insert_terms": dict(
        regs=20, smem=0, div64=0, cas=2, fp64=0, hot=53,
        hot_region="loop",
    ),
    # the row normalisation moved to a device function (no ``continue`` in the while
    # loop): regs 40 -> 36, hot 1301 -> 1294, div64 1 (0) -> 0, fp64 225 -> 225
    "text_cuda.tfidf_rows": dict(
        regs=36, smem=0, div64=0, cas=0, fp64=225, hot=1294,
        hot_region="loop",
    ),
    # --- image_texture_cuda (issue 18: hog, local_binary_pattern, graycomatrix/props) ---
    # uint8 images, measured figures. float64 work is scikit-image's (its float64
    # gradients, bilinear samples, sums): exact parity needs it. The per-pixel kernels
    # run on a 3-D grid (x column, y row, z image; while loops): before -> after is
    # the 1-D grid-stride version (regs, hot, div64 (in loops), fp64). The per-cell,
    # per-block and per-matrix kernels keep their 1-D loop: 2 index divisions an item
    # beside hundreds of instructions of work.
    # hot: one pixel (3 channels' gradients, float64 hypot or the uint8 table)
    # regs 52 -> 50, hot 781 -> 661, div64 3 (2) -> 0, fp64 151 -> 151
    "image_texture_cuda.hog_channels": dict(
        regs=50, smem=0, div64=0, cas=0, fp64=151, hot=661,
        hot_region="loop",
    ),
    # hot: one pixel's vote (float64 gradient and magnitude, polynomial arctangent,
    # the float32 total); one thread a cell, so 64-pixel serial chains
    "image_texture_cuda.hog_cells": dict(
        regs=78, smem=0, div64=3, cas=0, fp64=231, hot=621,
        hot_region="inner",
    ),
    # hot: one value of a block's sums or output (a float64 division by the norm
    # per value, as scikit-image)
    "image_texture_cuda.hog_blocks": dict(
        regs=70, smem=0, div64=3, cas=0, fp64=321, hot=350,
        hot_region="inner",
    ),
    # hot: one pixel (P float64 bilinear samples, 4 bounds-checked loads each)
    # regs 53 -> 55, hot 1229 -> 1161, div64 3 (2) -> 0, fp64 69 -> 69
    "image_texture_cuda.lbp_pixels": dict(
        regs=55, smem=0, div64=0, cas=0, fp64=69, hot=1161,
        hot_region="loop",
    ),
    # hot: one (pixel, offset) pair: the neighbour load and 1-2 global atomic adds
    # (REDG, no CAS); ~300 instructions are the signed 64-bit 4-D index arithmetic of
    # the atomics (a flat 32-bit index would cut it). regs 48 -> 48, hot 328 -> 326
    # (the pixel loop: 1316 -> 1235), div64 3 (2) -> 0, fp64 0 -> 0
    "image_texture_cuda.glcm_counts": dict(
        regs=48, smem=0, div64=0, cas=0, fp64=0, hot=326,
        hot_region="inner",
    ),
    # hot: one matrix entry of the largest sum (a float64 division P / sum per entry,
    # as scikit-image normalises, then the centred products); one thread per (image,
    # offset) over L*L = 65536 entries: few threads for small batches
    "image_texture_cuda.glcm_props": dict(
        regs=66, smem=0, div64=2, cas=0, fp64=570, hot=319,
        hot_region="inner",
    ),
    # --- audio_chroma_cuda (issue 18: chroma_stft, spectral_contrast) ------------------
    # float32 audio, measured figures.
    # hot: one FFT bin of the F-long sum (one output a thread). 3-D grid (x chroma
    # bin, y frame, z clip; uint64 while loops) and a float32 accumulator (the
    # kernel's typed zero ``S[0, 0, 0] * 0`` was float32 * int64 = float64 in Numba:
    # a float64 sum where the CPU kernel and librosa sum in float32). regs 40 -> 32,
    # hot 157 (4 unrolled bins, with F2F and DADD) -> 31 (one bin, one FFMA), div64 4
    # (3) -> 0, fp64 34 -> 0
    "audio_chroma_cuda.chroma_raw": dict(
        regs=32, smem=0, div64=0, cas=0, fp64=0, hot=31,
        hot_region="inner",
    ),
    # hot: one bin of the per-frame norm. fp64: audio_chroma_math.normalize_row
    # compiles every norm kind (run-time ``kind``, float64 pow for p-norms) into the
    # kernel; a compile-time kind would drop most of it
    "audio_chroma_cuda.chroma_norm": dict(
        regs=54, smem=0, div64=2, cas=0, fp64=373, hot=201,
        hot_region="inner",
    ),
    # hot: one bin of piptrack's peak search (one thread a frame)
    "audio_chroma_cuda.peaks": dict(
        regs=58, smem=0, div64=2, cas=0, fp64=49, hot=238,
        hot_region="inner",
    ),
    # hot: one bin of a band scan; one thread per (frame, band) rescans its band once
    # per distinct value taken (O(q * band) loads, no buffer)
    "audio_chroma_cuda.contrast_bands": dict(
        regs=64, smem=0, div64=3, cas=0, fp64=56, hot=369,
        hot_region="inner",
    ),
}

#: spill stores and loads, bytes, for every kernel
MAX_SPILL_BYTES = 0

#: the figures a budget row bounds, as named in the report (benchmarks/sass_budget.py)
CHECKED = ("regs", "smem", "div64", "cas", "fp64", "hot")
