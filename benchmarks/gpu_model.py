"""Bytes-and-instructions model of the cuda backend's audio ops on an H100 (no GPU needed).

    python benchmarks/gpu_model.py                 # MFCC on 10,000 one-second 16 kHz clips
    python benchmarks/gpu_model.py --md benchmarks/results/gpu_model_audio.md
    python benchmarks/gpu_model.py --text --md benchmarks/results/gpu_model_text.md
                                                   # TF-IDF at 16, 64 MB: see tfidf_launches

Each kernel launch of an op gets two times, and its prediction is the larger:

- memory: the bytes it moves to and from HBM (each array once: a frame's
  overlapping samples, a mel band's neighbouring bins and a DCT row's mel values
  are re-read from L1/L2, not from HBM) over the bandwidth (3.35 TB/s, H100 SXM);
- issue: SASS instructions per output x outputs / (32 threads a warp instruction x
  4 schedulers x 132 SMs x 1.7 GHz), every scheduler issuing one warp instruction a
  cycle (no stalls: a lower bound on the compute side too).

Instructions per output come from the sm_90 machine code of ``kernels/audio_cuda.py``
(numba-cuda 0.30.4, ptxas 13.5, as ``benchmarks/sass_budget.py`` compiles it): the
loop that the op's configuration runs, measured in the disassembly (see
:data:`PATH_INSTR`, each figure with its loop), and for comparison the static
``hot`` figure of ``benchmarks/results/sass_budget_sm90.json`` (every branch of the
hot region counted: an upper bound). cuFFT and CuPy's copies are memory-bound and
get the memory time only. Launch overheads (~5 us a launch, a few launches a
block) are not modelled; with all 10,000 clips in one frame block they are ~0.1 ms.

torchaudio's ``MFCC`` is modelled the same way, memory only (its element-wise
passes are memory-bound and its two matrix products small), from the passes its
source makes: ``torch.stft`` (pad, framed input times the window, cuFFT R2C),
``abs().pow(2)``, ``MelScale`` (a matmul), ``AmplitudeToDB`` (clamp, log10, scale,
reference, amax, max) and the DCT matmul. That model is not a measurement: the issue's
target (MFCC >= 1x torchaudio) is checked on hardware by ``gpu_bench_audio.py``.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SASS_JSON = ROOT / "benchmarks" / "results" / "sass_budget_sm90.json"

#: H100 SXM: HBM3 bandwidth (B/s), SMs, warp schedulers per SM, clock (Hz), warp width
H100 = dict(bandwidth=3.35e12, sms=132, schedulers=4, clock=1.7e9, warp=32)

#: host <-> device copy bandwidth (B/s): from pageable memory as measured on the H100
#: machine (1.7-1.9 GB/s, issue 15), and from the page-locked staging buffers of
#: ``mmfeat._gpu`` (to_device / to_host; ~25 GB/s on a PCIe 5 x16 or NVLink-C2C host
#: link, a model figure). The text and audio paths copy their inputs up through them.
HOST_LINK = dict(pageable=1.8e9, pinned=25e9)

#: SASS instructions per output on the path an op's configuration runs, measured in
#: the sm_90 disassembly of kernels/audio_cuda.py (benchmarks/sass_budget.py --dump):
#: (per output, what was counted). Loop addresses are those of that compile.
PATH_INSTR = {
    # frame_window: the row loop of a frame inside the clip (0x750-0x880): 20
    # instructions a sample, one store a pass; frames in the padding take the loop of
    # their padding mode (constant: 0x1740-0x19e0, 43)
    "frame_window": (20, "interior row loop 20/sample; padded frames 43"),
    "frame_window_padded": (43, "constant-padding row loop"),
    # power_mel (power_mel_kernel(square=True), issue 15: |X|**2 and a float32 sum compiled
    # in): the tap loop (0xb90-0x1230) is unrolled 16x, 107 instructions for 16 taps;
    # the band loop around it (0x2d0-0x18f0, 355) holds the remainder taps straight
    # line: all its 248 other instructions are charged a band (an upper bound: a band
    # of ~8 taps runs part of them). Before: 115 a tap (p != 2 branches and a float64
    # sum in the loop), 198 a band
    "power_mel_tap": (107 / 16, "tap loop unrolled 16x: 107 instructions a pass"),
    "power_mel_band": (248, "band loop outside the 16-tap loop, remainder taps included"),
    # to_db_peak: the element loop (0x530-0x820): 48 instructions a value (log10 inline,
    # store, running max); the block reduction runs once a block
    "to_db_peak": (48, "element loop"),
    # floor_dct: the mel loop, unrolled 4x (0x6c0-0x990: 46 instructions, 4 bands a
    # pass), plus the coefficient loop around it (138 - 46 = 92)
    "floor_dct_band": (46 / 4, "mel loop, 4 bands a pass"),
    "floor_dct_coef": (92, "coefficient loop outside the mel loop"),
}


@dataclass
class Launch:
    """One kernel (or library call) of an op, over the whole batch."""

    op: str
    kernel: str
    bytes: float
    outputs: float
    instr: float | None  # SASS instructions per output on the path (None: memory only)
    static: float | None = None  # the static hot figure (per output), for comparison
    note: str = ""

    def t_mem(self, gpu=H100) -> float:
        return self.bytes / gpu["bandwidth"]

    def t_issue(self, instr=None, gpu=H100) -> float:
        instr = self.instr if instr is None else instr
        if instr is None:
            return 0.0
        rate = gpu["sms"] * gpu["schedulers"] * gpu["clock"] * gpu["warp"]
        return instr * self.outputs / rate

    def t(self, gpu=H100) -> float:
        return max(self.t_mem(gpu), self.t_issue(gpu=gpu))

    def t_static(self, gpu=H100) -> float:
        """The prediction with the static (all-branches) instruction count."""
        s = self.static if self.static is not None else self.instr
        return max(self.t_mem(gpu), self.t_issue(s, gpu))


def static_hot(path: Path = SASS_JSON) -> dict:
    """kernel name (``power_mel``) -> the static ``hot`` figure of the SASS budget run."""
    if not path.exists():
        return {}
    doc = json.loads(path.read_text())
    return {k.split(".", 1)[1]: v["hot"] for k, v in doc.get("per_kernel", {}).items()
            if k.startswith("audio_cuda.")}


def mel_taps(sr, n_fft, n_mels) -> float:
    """Mean support (bins) of the Slaney mel filters (mmfeat's basis), or the
    triangle's width estimate without mmfeat."""
    try:
        import numpy as np

        from mmfeat.audio import _filters
        from mmfeat.audio._cpu import _support

        b = _filters.mel_basis(sr, n_fft, n_mels, 0.0, sr / 2, False, "slaney", np.float32)
        lo, hi = _support(b)
        return float((hi - lo).mean())
    except Exception:  # noqa: BLE001 (a model without mmfeat installed)
        return 2.0 * (n_fft // 2 + 1) / n_mels


def frames_of(T, n_fft, hop, center=True):
    pad = n_fft // 2 if center else 0
    nf = 1 + T // hop if center else 1 + (T - n_fft) // hop
    # frames reaching into the padding (left: start < 0, right: end > T)
    left = sum(1 for t in range(nf) if t * hop - pad < 0)
    right = sum(1 for t in range(nf) if t * hop - pad + n_fft > T)
    return nf, min(nf, left + right)


def mfcc_launches(n_clips=10_000, sr=16_000, seconds=1.0, n_fft=512, hop=160, n_mels=64,
                  n_mfcc=20, itemsize=4, hot=None) -> list[Launch]:
    """The launches of ``mmfeat.audio.mfcc(backend="cuda")`` (``audio/_cuda.py``:
    ``_spectra`` -> ``_mel_frames`` -> ``_db_dct``) for float32 clips, all in one
    frame block."""
    hot = static_hot() if hot is None else hot
    T = int(round(sr * seconds))
    nf, padded = frames_of(T, n_fft, hop)
    F = n_fft // 2 + 1
    R = n_clips * nf  # frames
    c = 2 * itemsize  # complex
    taps = mel_taps(sr, n_fft, n_mels)
    P = PATH_INSTR
    fw = (P["frame_window"][0] * (nf - padded) + P["frame_window_padded"][0] * padded) / nf
    pm = P["power_mel_tap"][0] * taps + P["power_mel_band"][0]
    fd = P["floor_dct_band"][0] * n_mels + P["floor_dct_coef"][0]
    # static: the whole band loop once (every instruction, the 16-tap loop's included)
    # plus the 16-tap loop's share of each further tap
    pm_static = (hot.get("power_mel_kernel", 107) / 16) * taps + 355
    fd_static = hot.get("floor_dct", P["floor_dct_band"][0] * 4) * n_mels + P["floor_dct_coef"][0]
    return [
        Launch("mfcc", "frame_window", n_clips * T * itemsize + R * n_fft * itemsize,
               R * n_fft, fw, hot.get("frame_window"),
               f"{padded} of {nf} frames a clip in the padding"),
        Launch("mfcc", "cuFFT rfft", R * n_fft * itemsize + R * F * c, R * F, None, None,
               "library: memory only"),
        Launch("mfcc", "power_mel", R * F * c + R * n_mels * itemsize, R * n_mels, pm,
               pm_static, f"{taps:.2f} taps a band on average"),
        Launch("mfcc", "copy mel block", 2 * R * n_mels * itemsize, R * n_mels, None, None,
               "CuPy slice assignment: memory only"),
        Launch("mfcc", "to_db_peak", 2 * R * n_mels * itemsize, R * n_mels,
               P["to_db_peak"][0], hot.get("to_db_peak"), "in place; one atomic a block"),
        Launch("mfcc", "floor_dct", R * n_mels * itemsize + R * n_mfcc * itemsize,
               R * n_mfcc, fd, fd_static, f"{n_mels} bands a coefficient"),
    ]


def torchaudio_mfcc_launches(n_clips=10_000, sr=16_000, seconds=1.0, n_fft=512, hop=160,
                             n_mels=64, n_mfcc=20, itemsize=4) -> list[Launch]:
    """torchaudio.transforms.MFCC (log_mels False, top_db 80) as passes over memory."""
    T = int(round(sr * seconds))
    nf, _ = frames_of(T, n_fft, hop)
    F = n_fft // 2 + 1
    R = n_clips * nf
    c = 2 * itemsize
    Tp = T + 2 * (n_fft // 2)
    spec = R * F * itemsize
    mel = R * n_mels * itemsize
    L = []

    def add(kernel, nbytes, note=""):
        L.append(Launch("mfcc (torchaudio)", kernel, nbytes, 0, None, None, note))

    add("pad (center)", n_clips * (T + Tp) * itemsize)
    add("frames * window", n_clips * T * itemsize + R * n_fft * itemsize,
        "as_strided frames materialised by the window product")
    add("cuFFT rfft", R * n_fft * itemsize + R * F * c)
    add("abs", R * F * c + spec)
    add("pow(2)", 2 * spec)
    add("MelScale matmul", spec + mel)
    add("AmplitudeToDB: clamp, log10, x10, -ref, max", 2 * mel * 5,
        "5 element-wise passes (read + write)")
    add("AmplitudeToDB: amax (top_db)", mel)
    add("DCT matmul", mel + R * n_mfcc * itemsize)
    return L


#: the image histograms (kernels/image_hist_cuda.py, issue 15): SASS instructions per
#: pixel, (on the path a photograph takes, the static hot figure of the budget table)
HIST_INSTR = {
    # color_histogram uint8 HSV (8, 8, 8): 92 instructions from one pixel's MATCH.ANY
    # to the next, of which 26 are the hue and S tie branches (pixels exactly on a bin
    # edge only); static: the pass loop / 8 pixels (the design before: 121, with two
    # dependent L2 gathers a pixel)
    "color_histogram": (66, 99),
    # gradient_histogram (9 bins): the tile loader (~80 a tile pixel on the byte path,
    # fewer staged) comes before and is not counted; the per-thread bins add 4 a pixel
    # (no CAS loop); static: the 4 output rows / 4
    "gradient_histogram": (103, 103),
}


def histogram_launches(n=64, size=1024) -> list[Launch]:
    """color_histogram(space="hsv") and gradient_histogram of n uint8 RGB images of
    size x size: each reads the batch once (the gradient tiles' 2-pixel halo comes
    from L2) and writes a few hundred bytes an image."""
    px = n * size * size
    return [
        Launch("color_histogram", "color_histogram_kernel (hsv, uint8)", px * 3 + n * 512 * 8,
               px, HIST_INSTR["color_histogram"][0], HIST_INSTR["color_histogram"][1],
               "issue target <= 0.2 ms"),
        Launch("gradient_histogram", "gradient_histogram_kernel (9 bins)", px * 3 + n * 9 * 8,
               px, HIST_INSTR["gradient_histogram"][0], HIST_INSTR["gradient_histogram"][1],
               "tile loader not counted"),
    ]


#: sobel and canny (kernels/image_cuda.py, issue 15): SASS instructions per output,
#: (on the path a photograph takes, the static hot figure of the budget table)
STENCIL_INSTR = {
    # sobel_window_kernel, W % 4 == 0: the row loop's word path, ~415 instructions a
    # pass of 4 outputs (3 LDG.E, 12 table LDS.64, 8 DADD, 4 F2F, ring STS/BAR/LDS, 4
    # magnitudes with their MUFU.RSQ sqrt) read off the sm_90 disassembly; static: the
    # whole loop / 4 (byte path, halo threads included)
    "sobel": (104, 135),
    # sobel_kernel (the tile it replaces): 63 a compute row plus its loader, ~80 a tile
    # pixel x (34 x 34) / (32 x 32) tile pixels an output
    "sobel_tile": (63 + 80 * 34 * 34 / 1024, 63 + 80 * 34 * 34 / 1024),
    # canny's one-thread-a-pixel stages: static body counts (every border mode and
    # branch; their per-path counts were not measured: an upper bound)
    "rgb_to_gray": (42, 42),
    "gaussian_rows": (869, 869),
    "gaussian_cols": (877, 877),
    "gradient_magnitude": (216, 216),
    "nonmax_suppression": (509, 509),
    # canny_front_kernel (issue 15): gaussian_rows .. nonmax_suppression fused, one tile
    # a block; static body count (every branch, loops once; its loader loops run ~3
    # passes a thread at sigma 1: a path count would be higher). The border mode is
    # compiled in (one kernel a mode): constant mode's body, 2149 (all five modes'
    # copies) -> 1676; packing the state into row masks (no state, no labels) -> 1769
    "canny_front": (1769, 1769),
    # the tiled hysteresis (one 32-thread block a 32 x 32 tile, 32 pixels a thread):
    # (SASS body, its largest top-level loop) of each kernel, instructions a thread
    "hyst_tile": (339, 116),
    "hyst_border": (1685, 181),
    "hyst_output": (626, 317),
}

#: the tiled hysteresis on the benchmark photographs (4 of make_batch's 1024 x 1024,
#: canny's defaults), per 32 x 32 tile on average, as ``hysteresis_stats`` emulates it
#: (``python benchmarks/gpu_model.py --hysteresis-stats`` measures them again)
HYST_STATS = {
    "candidate_fraction": 0.0730, "tile_passes": 4.24, "weak_edge_components": 1.69,
    "component_passes": 8.54, "weak_edge_pixels": 3.05, "edge_candidates_joining": 4.53,
    "seeded_tiles": 0.276, "output_passes": 1.45,
}


def canny_states(n=2, size=1024):
    """Suppression states (n, size, size) uint8 (0 none, 1 weak, 2 strong) of the
    benchmark photographs (``mmfeat._bench.make_batch``): canny's defaults (sigma 1,
    constant mode, thresholds 0.1 and 0.2), by the NumPy reference's stages."""
    import numpy as np
    from scipy import ndimage as ndi

    from mmfeat import _bench
    from mmfeat.image import _reference as ref

    gray = ref.rgb_to_gray(_bench.make_batch(n, size)).astype(np.float32)
    bleed = ref.bleed_over((size, size), 1.0, 0.0)
    eroded = np.zeros((size, size), bool)
    eroded[1:-1, 1:-1] = True
    out = np.zeros(gray.shape, np.uint8)
    for k in range(n):
        sm = ref._gaussian(gray[k], 1.0, "constant", 0.0) / bleed
        isob, jsob = ndi.sobel(sm, axis=0), ndi.sobel(sm, axis=1)
        mag = np.sqrt(isob * isob + jsob * jsob)
        nms = ref.nonmax_suppression(isob, jsob, mag, eroded, np.float32(0.1))
        out[k] = (nms > 0).astype(np.uint8) + (nms >= np.float32(0.2))
    return out


def _brev(x):
    r = x & 0
    for k in range(32):
        r |= ((x >> k) & 1) << (31 - k)
    return r


def _runs(c, x):
    """kernels/image_cuda.py's _runs on uint64 arrays."""
    up = (c & ~(c + x)) | x
    rc, rx = _brev(c), _brev(x)
    return (up | _brev(rc & ~(rc + rx) & 0xFFFFFFFF) | x) & c


def _grow(c, s):
    """_grow on (T, th) row masks of T tiles at once: the fixpoint and each tile's
    passes (a pass ends at the barrier that finds no change; the last counts)."""
    passes = np.zeros(c.shape[0], np.int64)
    live = np.ones(c.shape[0], bool)
    z = np.zeros_like(c[:, :1])
    while live.any():
        passes += live
        nb = np.concatenate([z, s[:, :-1]], 1) | np.concatenate([s[:, 1:], z], 1)
        t = _runs(c, c & (s | nb | (nb << 1) | (nb >> 1)))
        live &= (t != s).any(axis=1)
        s = t
    return s, passes


def hysteresis_stats(state, th=32) -> dict:
    """What the tiled hysteresis (``hyst_tile``, ``hyst_border``, ``hyst_output``) does
    on ``state`` (n, H, W), per 32 x th tile on average, emulated with NumPy: the
    passes of its mask growth loops, the weak edge components it labels, the edge
    pixels it labels and finds, the tiles' edge candidates that join neighbours."""
    n, H, W = state.shape
    Hp, Wp = -(-H // th) * th, -(-W // 32) * 32
    pad = np.zeros((n, Hp, Wp), np.uint8)
    pad[:, :H, :W] = state
    tiles = pad.reshape(n, Hp // th, th, Wp // 32, 32).transpose(0, 1, 3, 2, 4)
    weights = np.uint64(1) << np.arange(32, dtype=np.uint64)
    c = ((tiles > 0) * weights).sum(-1, dtype=np.uint64).reshape(-1, th)
    s, p_tile = _grow(c, ((tiles == 2) * weights).sum(-1, dtype=np.uint64).reshape(-1, th))
    w = c & ~s
    edge_mask = np.full(th, (1 << 31) | 1, np.uint64)
    edge_mask[[0, -1]] = 0xFFFFFFFF
    rest = w & edge_mask
    weak_edge = np.array([bin(int(v)).count("1") for v in rest.ravel()]).reshape(rest.shape)
    rounds = np.zeros(c.shape[0], np.int64)
    p_comp = np.zeros(c.shape[0], np.int64)
    while (rest != 0).any():
        act = (rest != 0).any(axis=1)
        row = np.argmax(rest != 0, axis=1)
        f = np.zeros_like(rest)
        k = np.nonzero(act)[0]
        f[k, row[k]] = rest[k, row[k]] & (~rest[k, row[k]] + np.uint64(1))
        f, p = _grow(w, f)
        rounds += act
        p_comp += p * act
        rest &= ~f
    # the output's seeds: weak edge pixels whose whole component reaches a strong one
    good = np.zeros(pad.shape, bool)
    for k in range(n):
        lab, count = ndi_label(pad[k] > 0)
        ok = np.zeros(count + 1, bool)
        ok[np.unique(lab[pad[k] == 2])] = True
        ok[0] = False
        good[k] = ok[lab]
    gt = good.reshape(n, Hp // th, th, Wp // 32, 32).transpose(0, 1, 3, 2, 4)
    seeds = w & edge_mask & (gt * weights).sum(-1, dtype=np.uint64).reshape(-1, th)
    seeded = (seeds != 0).any(axis=1)
    _, p_out = _grow(w, seeds)
    cand = tiles > 0
    joins = cand[..., -1, :].sum(-1) + cand[..., :, -1].sum(-1)  # bottom row, right column
    T = c.shape[0]
    return {
        "tiles": T, "candidate_fraction": float(cand.mean()),
        "tile_passes": float(p_tile.mean()), "weak_edge_components": float(rounds.mean()),
        "component_passes": float(p_comp.mean()), "weak_edge_pixels": float(weak_edge.sum() / T),
        "edge_candidates_joining": float(joins.mean()),
        "seeded_tiles": float(seeded.mean()), "output_passes": float((p_out * seeded).mean()),
    }


def ndi_label(mask):
    from scipy import ndimage as ndi

    return ndi.label(mask, np.ones((3, 3), bool))


def stencil_launches(n=64, size=1024) -> list[Launch]:
    """sobel (the sliding window, float32 and float16 output, beside the tile kernel it
    replaced) and canny's launches (sigma 1, constant mode) for n uint8 RGB images of
    size x size; each array is read and written once from HBM (halos and neighbours
    from L1/L2)."""
    px = n * size * size
    S = STENCIL_INSTR

    def L(op, kernel, nbytes, key, note=""):
        return Launch(op, kernel, nbytes, px, S[key][0], S[key][1], note)

    return [
        L("sobel", "sobel_window_kernel -> float32", px * (3 + 4), "sobel",
          "issue target <= 0.35 ms"),
        L("sobel", "sobel_window_kernel -> float16", px * (3 + 2), "sobel", "dtype=float16"),
        L("sobel (before)", "sobel_kernel (tile)", px * (3 + 4), "sobel_tile",
          "measured 1.05 ms on an H100"),
        L("canny", "rgb_to_gray", px * (3 + 4), "rgb_to_gray"),
        L("canny", "canny_front_kernel", px * (4 + 4 + 0.25), "canny_front",
          "gray + bleed (L2) -> row masks; 5 launches in one, 42 -> 8.25 B a pixel"),
        *hysteresis_launches(px),
    ]


def hysteresis_launches(px, stats=None) -> list[Launch]:
    """canny's hysteresis over px pixels in 32 x 32 tiles (one 32-thread block a tile,
    32 pixels a thread), instructions a pixel from the SASS bodies and loops of
    :data:`STENCIL_INSTR` and the passes of :data:`HYST_STATS`:

    - hyst_tile: its body once, plus its largest loop (116: one edge component's
      labelling with its mask growth, more than one growth pass costs) once for every
      growth pass and every weak edge component (tile_passes + component_passes +
      weak_edge_components a tile): an upper bound, every pass charged the larger loop;
    - hyst_border: charged for the tiles' edge pixels only: each tile's 32 threads run
      its early exit (~60 instructions: index math, two mask-word loads, the test) and
      each edge candidate that joins its neighbours half the body (its three joins: a
      bottom row's or a right column's); ~4.5 such pixels a tile of 1024, the 64 edge
      pixels a tile (bottom row, right column) being 1/16 of the pixels;
    - hyst_output: its body once, plus its largest loop (317) once for every growth
      pass of a seeded tile (output_passes: the mean over all tiles).

    The static column charges every body once (and hyst_border's to every thread)."""
    S, H = STENCIL_INSTR, HYST_STATS if stats is None else stats
    tiles = px / 1024
    body, loop = S["hyst_tile"]
    grows = H["tile_passes"] + H["component_passes"] + H["weak_edge_components"]
    tile_path = (body + loop * grows) / 32
    bbody, _ = S["hyst_border"]
    border_path = (32 * 60 + H["edge_candidates_joining"] * bbody / 2) / 1024
    obody, oloop = S["hyst_output"]
    out_path = (obody + oloop * H["output_passes"]) / 32
    labels = H["weak_edge_pixels"] * 4 * tiles  # bytes of the edge pixels' entries
    return [
        Launch("canny", "zeros (row masks)", px / 4, 0, None, None,
               "CuPy: cmask, smask, 4 B each a 32-pixel row"),
        Launch("canny", "hyst_tile", px / 4 + px / 8 + labels, px, tile_path, body / 32,
               f"{grows:.1f} growth passes and components a tile"),
        Launch("canny", "hyst_border", px / 8 + 4 * labels, px, border_path, bbody / 32,
               "edge pixels only"),
        Launch("canny", "hyst_output", px / 4 + labels + px, px, out_path, obody / 32,
               "canny measured 28.7 ms before; target <= 5 ms"),
    ]


def _ms(s):
    return f"{s * 1e3:.3f}"


def table(launches, title, by_op=False) -> str:
    rows = [f"### {title}", "",
            "| launch | MB moved | memory ms | outputs (M) | instr/output (path) | issue ms "
            "| predicted ms | instr/output (static) | predicted ms (static) | note |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    tot = tot_s = tot_b = 0.0
    for L in launches:
        tot += L.t()
        tot_s += L.t_static()
        tot_b += L.bytes
        instr = "-" if L.instr is None else f"{L.instr:.1f}"
        static = "-" if L.static is None else f"{L.static:.1f}"
        outs = f"{L.outputs / 1e6:.1f}" if L.outputs else "-"
        bound = "" if L.instr is None else (" (issue)" if L.t_issue() > L.t_mem() else
                                            " (memory)")
        rows.append(f"| {L.kernel} | {L.bytes / 1e6:,.0f} | {_ms(L.t_mem())} | {outs} | "
                    f"{instr} | {_ms(L.t_issue())} | {_ms(L.t())}{bound} | {static} | "
                    f"{_ms(L.t_static())} | {L.note} |")
    rows.append(f"| **total** | {tot_b / 1e6:,.0f} | {_ms(tot_b / H100['bandwidth'])} | | | | "
                f"**{_ms(tot)}** | | {_ms(tot_s)} | |")
    if by_op:  # each operation's own total (the table may hold several)
        for op in dict.fromkeys(L.op for L in launches):
            ls = [L for L in launches if L.op == op]
            b = sum(L.bytes for L in ls)
            rows.append(f"| **total: {op}** | {b / 1e6:,.0f} | {_ms(b / H100['bandwidth'])} "
                        f"| | | | **{_ms(sum(L.t() for L in ls))}** | | "
                        f"{_ms(sum(L.t_static() for L in ls))} | |")
    return "\n".join(rows) + "\n"


def report(n_clips=10_000) -> str:
    ours = mfcc_launches(n_clips)
    theirs = torchaudio_mfcc_launches(n_clips)
    t_ours = sum(L.t() for L in ours)
    t_ours_static = sum(L.t_static() for L in ours)
    t_theirs = sum(L.t() for L in theirs)
    worst = max(ours, key=lambda L: L.t())
    clip_bytes = n_clips * 16_000 * 4  # one-second 16 kHz float32 clips
    g = H100
    head = [
        "# GPU model: audio MFCC on an H100",
        "",
        f"Written by `benchmarks/gpu_model.py`. {n_clips:,} one-second 16 kHz float32 clips, "
        "n_fft 512, hop 160, 64 mels, 20 MFCC, centred, constant padding. H100 SXM: "
        f"{g['bandwidth'] / 1e12:.2f} TB/s, {g['sms']} SMs x {g['schedulers']} schedulers "
        f"x {g['clock'] / 1e9:.1f} GHz, 32 threads a warp instruction. A launch's "
        "prediction is max(bytes / bandwidth, instructions / issue rate); instructions "
        "per output are the sm_90 SASS of kernels/audio_cuda.py: `path` the loop the "
        "configuration runs (benchmarks/gpu_model.py's PATH_INSTR), `static` the "
        "sass_budget hot figure (all branches: an upper bound). Modelled, not measured.",
        "",
    ]
    body = [table(ours, "mmfeat `mfcc(backend=\"cuda\")`"), "",
            table(theirs, "torchaudio `MFCC` (memory passes only)"), ""]
    tail = [
        "### Summary",
        "",
        f"- mmfeat MFCC predicted: {_ms(t_ours)} ms (path instructions), "
        f"{_ms(t_ours_static)} ms (static instruction counts);",
        f"- torchaudio MFCC, memory passes only: {_ms(t_theirs)} ms;",
        f"- predicted ratio torchaudio / mmfeat: {t_theirs / t_ours:.2f}x (path), "
        f"{t_theirs / t_ours_static:.2f}x (static); the issue's target is >= 1x.",
        f"- the longest mmfeat launch: {worst.kernel}, {_ms(worst.t())} ms, "
        + ("issue-bound: its instructions, not its bytes, set its time."
           if worst.t_issue() > worst.t_mem() else "memory-bound."),
        f"- clips from host memory ({clip_bytes / 1e6:,.0f} MB, not in the tables: both "
        f"sides start on the device): {_ms(clip_bytes / HOST_LINK['pageable'])} ms pageable "
        f"at {HOST_LINK['pageable'] / 1e9:.1f} GB/s, {_ms(clip_bytes / HOST_LINK['pinned'])} "
        f"ms through mmfeat's pinned staging buffers at {HOST_LINK['pinned'] / 1e9:.0f} "
        "GB/s (AudioFeatures and the batch functions with NumPy clips).",
        "",
    ]
    return "\n".join(head + body + tail)


# --- text: TfidfVectorizer(backend="cuda").fit_transform (issue 15, text row) ----------

#: the benchmark corpus (gpu_bench_text.py --mb 16,64: the ``mixed`` corpus, --unique-mb
#: 32, i.e. test_bench_text.py's stdlib paragraphs and seeded Zipf ``generated``
#: documents interleaved, tiled to the size), counted with the word analyzer's pattern
#: ``(?u)\b\w\w+\b`` on ``doc.lower()`` over the very documents the benchmark builds
#: (``unique_documents("mixed", 32)``; no sampling). 16 MB is a prefix of the 32 MB of
#: distinct text; 64 MB is that text tiled 1.966 times, so its counts are the 32 MB
#: counts x 1.966 and its vocabulary is the 32 MB one (the tiling repeats documents).
#: processed: bytes of the kernels' processed text (each kept token + one space);
#: nnz: distinct (document, term) pairs; vocab_bytes: the distinct terms' UTF-8 bytes;
#: longest: the longest document (bytes, processed bytes, tokens): at 64 MB it is
#: Lib/pydoc_data/topics.py, one 757 KB "paragraph" (no blank line in it);
#: warp_factor: sum over warps of 32 x the warp's longest document / all bytes (one
#: thread a document, 32 consecutive documents a warp); stdlib_share: bytes from the
#: stdlib paragraphs (the rest generated), for scikit-learn's per-corpus rate.
_R64 = 64e6 / 32_559_855
TEXT_CORPUS = {
    16: dict(bytes=16_001_631, docs=19_502, tokens=2_212_483, processed=15_273_939,
             nnz=954_571, vocab=30_320, vocab_bytes=259_882,
             longest=(36_843, 25_519, 2_434), warp_factor=3.30, stdlib_share=0.144),
    64: dict(bytes=64e6, docs=56_752 * _R64, tokens=4_196_145 * _R64,
             processed=28_626_833 * _R64, nnz=1_948_744 * _R64, vocab=63_802,
             vocab_bytes=575_780, longest=(757_011, 374_675, 60_145), warp_factor=4.99,
             stdlib_share=0.368),
}

#: scikit-learn's TfidfVectorizer().fit_transform, seconds per MB, on this project's
#: 2-core CPU machine (Python 3.11, scikit-learn 1.9.1): the best of
#: benchmarks/results/cpu_text_quiet.json and cpu_text_quiet_run2.json (load ~1) at 8 MB,
#: stdlib 0.7641 s / 8.01 MB, generated 0.7042 s / 8.00 MB. Scaled linearly by bytes
#: (as gpu_bench_text.py extrapolates) and weighted by the corpus's stdlib share.
SKLEARN_TFIDF_S_PER_MB = dict(stdlib=0.7641 / 8.01, generated=0.7042 / 8.00)

#: latencies (cycles) of a lone thread's dependent chain on an H100 (microbenchmark
#: figures, a model): an L1 hit, and a dependent integer / branch step
LATENCY = dict(l1=35, alu=6)

#: host-side model figures: one-thread memcpy into / out of the pinned staging buffers
#: (B/s); the host's work per vocabulary term in fit (s): sort_terms measured at 80 ns a
#: term on this project's CPU machine (60,926 random terms of 2-16 bytes: 4.9 ms), plus
#: ~20 NumPy passes over per-term arrays (prune, TfidfVectorizer's df, the column ids,
#: first_occurrence_order's rank, _set_idf) at ~2 ns an element; overheads (s) of a CuPy
#: launch, a Numba launch (argument typing and as_cuda_array of each array) and a
#: device -> host sync of a scalar (``int(x[-1])``)
TEXT_HOST = dict(memcpy=10e9, per_term=80e-9 + 20 * 2e-9, cupy_launch=5e-6,
                 numba_launch=30e-6, sync=15e-6)

#: one random 8-byte gather from an array larger than L2 (50 MB) moves a 32-byte sector
SECTOR = 32


def _sort_bytes(n, key=8, val=8):
    """CuPy's argsort of n keys: a copy of the keys, an index arange, then thrust's
    stable_sort_by_key (CUB radix sort: 8 digit passes of 8 bits for a 64-bit key,
    each reading and writing key and value, and one histogram read of the keys)."""
    return n * (2 * key + val + 8 * 2 * (key + val) + key)


@dataclass
class Step:
    """One step of a text op: a device launch (``where`` "GPU": memory, issue and
    a serial floor, the largest wins), a host <-> device copy (bytes over the link's
    bandwidth, plus the host memcpy through the pinned staging buffer), host work
    (``host_s``) or launch overheads (``host_s``)."""

    kernel: str
    where: str  # GPU, H2D pinned, D2H pinned, H2D pageable, D2H pageable, host, overhead
    bytes: float = 0.0
    elements: float = 0.0
    instr: float | None = None  # SASS instructions per element (static hot: upper bound)
    warp_factor: float = 1.0  # a warp issues for its longest lane (one thread a document)
    floor_s: float = 0.0  # the longest document's serial time (one thread)
    host_s: float = 0.0
    note: str = ""

    def t_mem(self) -> float:
        if self.where == "GPU":
            return self.bytes / H100["bandwidth"]
        if self.where.startswith(("H2D", "D2H")):
            link = HOST_LINK["pinned" if self.where.endswith("pinned") else "pageable"]
            staging = self.bytes / TEXT_HOST["memcpy"] if self.where.endswith("pinned") else 0
            return self.bytes / link + staging
        return 0.0

    def t_issue(self) -> float:
        if self.instr is None:
            return 0.0
        g = H100
        return self.instr * self.elements * self.warp_factor / (
            g["sms"] * g["schedulers"] * g["clock"] * g["warp"])

    def t(self, issue=True) -> float:
        return max(self.t_mem(), self.t_issue() if issue else 0.0, self.floor_s) + self.host_s


def static_hot_text(path: Path = SASS_JSON) -> dict:
    """kernel name -> the static ``hot`` figure of text_cuda's kernels: each is the whole
    grid-stride loop (one document, term or row an iteration) with every loop and
    branch in it counted once."""
    if not path.exists():
        return {}
    doc = json.loads(path.read_text())
    return {k.split(".", 1)[1]: v["hot"] for k, v in doc.get("per_kernel", {}).items()
            if k.startswith("text_cuda.")}


def _serial_s(cycles):
    return cycles / H100["clock"]


def tfidf_launches(mb=64, hot=None) -> list[Step]:
    """``TfidfVectorizer(backend="cuda").fit_transform`` of the benchmark corpus (default
    parameters: word analyzer, ngram_range (1, 1), float64, norm l2, smooth idf), in
    the order ``text/vectorizers.py`` -> ``text/_cuda.py`` runs it: device_stage
    (_stage1), count_fit, the host's _learn_vocabulary, _device_term_table, count_matrix
    (pairs_to_csr), first_occurrence_order, TfidfTransformer.fit (document_frequencies)
    and transform (tfidf).

    Instructions per element (``instr``) are the static hot figures of
    benchmarks/results/sass_budget_sm90.json, charged per element of the kernel's
    innermost walk: a kernel's loop region holds every inner loop once, and each inner
    loop runs at most once per element so charged (preprocess_word: per input byte;
    ngram_spans, count_word_ngrams, verify_groups: per processed byte, a token of L
    bytes being L + 1 of them, its MurmurHash3 blocks ceil(L / 4), its byte compare L,
    its probes 1-3; gather_spans: per term byte; insert_terms: per probe, 2.5 expected
    at the table's load <= 0.5; tfidf_rows: per entry and per row). That is an upper
    bound: the ASCII path of a byte runs a fraction of the region.

    ``floor_s``: the one-thread-a-document kernels cannot end before the thread of the
    longest document does; its chain, per byte or token, in :data:`LATENCY` steps:
    preprocess_word 2 L1 hits (the byte, then the class table at its code point) + 8
    integer / branch steps an input byte; the processed-text walks 1 L1 hit + 3 steps a
    processed byte, plus a token's MurmurHash3 (a 4-byte block: 1 L1 hit + 12 steps; the
    finaliser 10 steps; the tail 1 L1 hit + 6 steps; ngram_spans hashes twice), plus for
    count_word_ngrams its probe (3 dependent L1 hits: slot, hash, offset; the straggler
    runs alone on its SM at the end and its terms recur) and its byte compare (1 L1 hit
    + 2 steps a byte).
    """
    C = TEXT_CORPUS[mb]
    hot = static_hot_text() if hot is None else hot
    D, N, T, P = C["bytes"], C["docs"], C["tokens"], C["processed"]
    nnz, V, UB = C["nnz"], C["vocab"], C["vocab_bytes"]
    lb, lp, lt = C["longest"]
    wf = C["warp_factor"]
    L1, A = LATENCY["l1"], LATENCY["alu"]
    Lmean = lp / lt - 1  # the longest document's mean token length
    blocks = math.ceil(Lmean / 4)
    murmur = blocks * (L1 + 12 * A) + 10 * A + (L1 + 6 * A)
    walk = lp * (L1 + 3 * A)
    f_pre = _serial_s(lb * (2 * L1 + 8 * A))
    f_spans = _serial_s(walk + lt * 2 * murmur)
    f_count = _serial_s(walk + lt * (murmur + 3 * L1 + Lmean * (L1 + 2 * A)))
    i8 = 8
    gather_big = i8 + SECTOR + i8  # index, a sector of the source, the output
    S = Step
    return [
        # --- device_stage -> _stage1 -------------------------------------------------
        S("to_device(buf)", "H2D pinned", D, note="np.copyto into the pinned buffer, then "
          "an async DMA (the first kernel waits for it)"),
        S("to_device(offs)", "H2D pinned", 8 * (N + 1)),
        S("growth bound, out_start cumsum", "GPU", 6 * 16 * N, N, None,
          note="CuPy: diff, 4 element-wise, zeros, cumsum; then int(out_start[-1])"),
        S("preprocess_word", "GPU", D + 8 * N + P + 16 * N, D, hot.get("preprocess_word"),
          wf, f_pre, note=f"per input byte; longest document {lb / 1e3:,.0f} KB"),
        S("n-gram counts, ng_off cumsum", "GPU", 5 * 16 * N, N, None,
          note="CuPy: zeros, maximum, +=, zeros, cumsum"),
        # --- count_fit ----------------------------------------------------------------
        S("ngram_spans", "GPU", P + 16 * N + 24 * T, P, hot.get("ngram_spans"), wf, f_spans,
          note="per processed byte; 64-bit hash, start, length a token"),
        S("argsort(hashes) (stable)", "GPU", _sort_bytes(T), T, None,
          note="library: 8-byte keys and indices"),
        S("h = hashes[order]; first; gid = cumsum - 1", "GPU",
          T * (gather_big + 17 + 2 * 9 + 16), T, None,
          note="gather, not_equal, cumsum (2 passes), subtract"),
        S("group_first = flatnonzero(first)", "GPU", T * (1 + 16) + 8 * V, T, None,
          note="scan + scatter; a sync for its length"),
        S("verify_groups", "GPU", T * (16 + 3 * SECTOR), P, hot.get("verify_groups"),
          note="per processed byte; starts, lens, bytes of each entry gathered"),
        S("to_host(bad)", "D2H pinned", 4, note="a sync"),
        S("searchsorted(ng_off, order); new_doc", "GPU", T * (16 + 2 + 17 + 3), T, None,
          note="binary search in N offsets (L2); copy, not_equal, logical_or"),
        S("df = bincount(gid[new_doc]); tf = bincount(gid)", "GPU",
          T * (1 + 16) + nnz * 16 + nnz * 8 + T * 8 + 16 * V, T, None,
          note="mask gather (scan) and two atomic bincounts into V bins (L2)"),
        S("by_first = argsort(first_pos) and term gathers", "GPU",
          _sort_bytes(V) + V * (6 * 24 + 16), V, None,
          note="order[group_first], argsort, 3 gathers, cumsum; int(t_off[-1])"),
        S("gather_spans (terms)", "GPU", 2 * UB + V * (24 + SECTOR), UB + V,
          hot.get("gather_spans"), note="per term byte"),
        S("to_host(t_off)", "D2H pinned", 8 * (V + 1)),
        S("to_host(term_buf)", "D2H pinned", UB, note="the terms' bytes"),
        S("stack df, tf; to_host", "GPU", V * 64, V, None,
          note="2 gathers, stack, astype"),
        S("to_host(df, tf)", "D2H pinned", 16 * V),
        S("term_hash = h[group_first][by_first] >> 32", "GPU", V * 48, V, None),
        # --- CountVectorizer._learn_vocabulary on the host -----------------------------
        S("sort_terms, prune, PendingVocabulary", "host", elements=V,
          host_s=V * TEXT_HOST["per_term"], note="host: per-term cost, see TEXT_HOST"),
        # --- _device_term_table ---------------------------------------------------------
        S("to_device(ids)", "H2D pinned", 8 * V, note="the term id of each column"),
        S("c_start, c_len, c_off, c_hash, zeros(table)", "GPU", V * 80 + 4 * 2 * 2 * V, V,
          None, note="gathers, cumsum, the table (2-4 V slots)"),
        S("gather_spans (columns)", "GPU", 2 * UB + V * (24 + SECTOR), UB + V,
          hot.get("gather_spans"), note="per term byte"),
        S("insert_terms", "GPU", V * (8 + SECTOR), 2.5 * V, hot.get("insert_terms"),
          note="per probe; CAS"),
        # --- count_matrix ---------------------------------------------------------------
        S("count_word_ngrams", "GPU", P + 16 * N + 8 * T, P, hot.get("count_word_ngrams"), wf,
          f_count, note="per processed byte; table, hashes, terms in L2"),
        S("argsort(keys)", "GPU", _sort_bytes(T), T, None, note="library"),
        S("k = keys[order]; ones; (k < 0).sum()", "GPU", T * (gather_big + 8 + 9 + 1), T,
          None, note="a sync for first_kept"),
        S("CSR: not_equal, flatnonzero, cumsum, sums, rows, cols", "GPU",
          T * (17 + 17 + 32) + nnz * (16 + 16 + 5 * 24 + 16 + 16 + 40), T, None,
          note="~15 CuPy launches; a sync for nnz"),
        S("bincount(rows), indptr, astype", "GPU", nnz * (8 + 16 + 12) + 24 * N, nnz, None),
        # --- first_occurrence_order -------------------------------------------------------
        S("to_device(rank)", "H2D pinned", 8 * V),
        S("rows, rank[indices], keys", "GPU", nnz * (16 + 16 + 20 + 16 + 24), nnz, None,
          note="arange, searchsorted, gather (L2), multiply, add"),
        S("argsort(rows * V + rank)", "GPU", _sort_bytes(nnz), nnz, None, note="library"),
        S("data[order], indices[order]", "GPU", nnz * (2 * i8 + SECTOR + 8 + SECTOR + 4), nnz,
          None),
        # --- TfidfTransformer.fit, transform ---------------------------------------------
        S("as_device_csr copy; bincount(indices)", "GPU", nnz * 24 + nnz * 4 + 8 * V, nnz,
          None, note="document_frequencies"),
        S("to_host(df)", "D2H pinned", 8 * V, note="the idf is computed on the host"),
        S("as_device_csr copy (tfidf)", "GPU", nnz * 24, nnz, None,
          note="transform copies the CSR again"),
        S("to_device(idf)", "H2D pinned", 8 * V),
        S("tfidf_rows", "GPU", nnz * 20 + 8 * N, nnz + N, hot.get("tfidf_rows"), wf,
          note="per entry and row; idf in L2"),
        # --- overheads ---------------------------------------------------------------------
        S("launches and syncs", "overhead",
          host_s=95 * TEXT_HOST["cupy_launch"] + 8 * TEXT_HOST["numba_launch"]
          + 9 * TEXT_HOST["sync"],
          note="~95 CuPy launches, 8 Numba launches, 9 scalar syncs (model figures)"),
    ]


def sklearn_tfidf_s(mb) -> float:
    C = TEXT_CORPUS[mb]
    r = SKLEARN_TFIDF_S_PER_MB
    rate = C["stdlib_share"] * r["stdlib"] + (1 - C["stdlib_share"]) * r["generated"]
    return rate * C["bytes"] / 1e6


def text_table(steps, title) -> str:
    rows = [f"### {title}", "",
            "| step | where | MB moved | memory / link ms | elements (M) | instr/element "
            "(static) | issue ms | longest-document floor ms | host ms | predicted ms | "
            "note |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for s in steps:
        instr = "-" if s.instr is None else f"{s.instr:.0f}"
        if s.instr is not None and s.warp_factor != 1.0:
            instr += f" x {s.warp_factor:.2f}"
        els = f"{s.elements / 1e6:.2f}" if s.elements else "-"
        rows.append(f"| {s.kernel} | {s.where} | {s.bytes / 1e6:,.2f} | {_ms(s.t_mem())} | "
                    f"{els} | {instr} | {_ms(s.t_issue())} | {_ms(s.floor_s)} | "
                    f"{_ms(s.host_s)} | {_ms(s.t())} | {s.note} |")
    tot = sum(s.t() for s in steps)
    tot_lo = sum(s.t(issue=False) for s in steps)
    rows.append(f"| **total** | | {sum(s.bytes for s in steps) / 1e6:,.0f} | | | | | | | "
                f"**{_ms(tot)}** | without the issue term: {_ms(tot_lo)} |")
    return "\n".join(rows) + "\n"


def text_report(sizes=(16, 64)) -> str:
    g = H100
    head = [
        "# GPU model: text TF-IDF on an H100",
        "",
        "Written by `benchmarks/gpu_model.py --text`. **A model, not a measurement**: "
        "`TfidfVectorizer(backend=\"cuda\").fit_transform` (default parameters) of "
        "gpu_bench_text.py's corpus (`--mb 16,64`: the mixed stdlib + generated corpus, "
        "32 MB of distinct text tiled; statistics counted on its documents: "
        "TEXT_CORPUS), every launch, copy and host step of fit_transform in order. "
        f"H100 SXM: {g['bandwidth'] / 1e12:.2f} TB/s, {g['sms']} SMs x {g['schedulers']} "
        f"schedulers x {g['clock'] / 1e9:.1f} GHz. A device step's prediction is "
        "max(bytes / bandwidth, instructions / issue rate, the longest document's serial "
        "time); instructions per element are the static hot figures of "
        "benchmarks/results/sass_budget_sm90.json (every branch of the kernel's loop once, "
        "charged per byte or term: an upper bound), times the warp factor (one thread a "
        "document: a warp issues until its longest document ends). Copies: pinned "
        f"{HOST_LINK['pinned'] / 1e9:.0f} GB/s plus the host memcpy into the staging "
        f"buffer at {TEXT_HOST['memcpy'] / 1e9:.0f} GB/s, pageable "
        f"{HOST_LINK['pageable'] / 1e9:.1f} GB/s; CuPy / thrust calls are memory passes "
        "(argsort: a radix sort of 8 digit passes); host work at a per-term cost. "
        "Compilation is not counted (the benchmark warms up; kernels are cached on disk).",
        "",
    ]
    body, summary = [], ["### Summary", ""]
    for mb in sizes:
        steps = tfidf_launches(mb)
        C = TEXT_CORPUS[mb]
        title = (f"{mb} MB: {C['docs']:,.0f} documents, {C['tokens'] / 1e6:.2f} M tokens, "
                 f"{C['vocab']:,} terms, {C['nnz'] / 1e6:.2f} M entries")
        body += [text_table(steps, title), ""]
        tot, tot_lo = sum(s.t() for s in steps), sum(s.t(issue=False) for s in steps)
        sk = sklearn_tfidf_s(mb)
        top = sorted(steps, key=lambda s: -s.t())[:3]
        floors = sum(s.floor_s for s in steps)
        link = sum(s.t() for s in steps if s.where.startswith(("H2D", "D2H")))
        host = sum(s.host_s for s in steps)
        summary += [
            f"- {mb} MB: predicted {_ms(tot)} ms ({_ms(tot_lo)} ms without the static issue "
            f"term); scikit-learn {sk:.2f} s (cpu_text_quiet*.json, scaled by bytes); "
            f"predicted ratio **{sk / tot:.1f}x** ({sk / tot_lo:.1f}x) against the issue's "
            f"20x. Largest steps: "
            + ", ".join(f"{s.kernel} {_ms(s.t())} ms" for s in top)
            + f". The longest document's serial floors sum to {_ms(floors)} ms, the "
            f"host <-> device copies to {_ms(link)} ms, host work and overheads to "
            f"{_ms(host)} ms.",
        ]
    summary += [
        "- Dominant assumptions: one thread a document, so the longest document (757 KB at "
        "64 MB: Lib/pydoc_data/topics.py, no blank line) is walked by one thread three "
        "times (preprocess_word, ngram_spans, count_word_ngrams) at a lone thread's "
        f"latency ({LATENCY['l1']}-cycle L1 hits, {LATENCY['alu']}-cycle dependent steps); "
        "the static SASS counts as per-byte upper bounds (their issue time, with the warp "
        "factor, is the next largest term); scikit-learn's time from this project's 2-core "
        "CPU machine (a faster benchmark host lowers the ratio in proportion); the host "
        "memcpy into the pinned buffer; radix sorts of 8 passes.",
        "- What still crosses the host link during fit: the documents (up, once), the "
        "counted vocabulary (terms' bytes and offsets, df and tf: down), the column -> "
        "term ids (up), first_occurrence_order's rank (up), df again "
        "(down: TfidfTransformer.fit computes the idf on the host) and the idf "
        "(up), every one through the pinned pool, plus ~9 scalar syncs.",
        "",
    ]
    return "\n".join(head + body + summary)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="clips (default 10,000)")
    ap.add_argument("--md", help="also write the report to this Markdown file")
    ap.add_argument("--histograms", action="store_true",
                    help="the image histograms (64 x 1024 x 1024 uint8 RGB) instead")
    ap.add_argument("--stencils", action="store_true",
                    help="sobel and canny (64 x 1024 x 1024 uint8 RGB) instead")
    ap.add_argument("--text", action="store_true",
                    help="TfidfVectorizer(backend='cuda').fit_transform at 16 and 64 MB "
                         "against scikit-learn instead")
    ap.add_argument("--hysteresis-stats", action="store_true",
                    help="emulate canny's tiled hysteresis on 4 benchmark photographs "
                         "(HYST_STATS) and print its figures")
    args = ap.parse_args(argv)
    if args.hysteresis_stats:
        print(json.dumps(hysteresis_stats(canny_states(4)), indent=1))
        return 0
    text = (text_report() if args.text else
            table(histogram_launches(), "image histograms, 64 x 1024 x 1024 uint8 RGB")
            if args.histograms else
            table(stencil_launches(), "sobel and canny, 64 x 1024 x 1024 uint8 RGB",
                  by_op=True)
            if args.stencils else report(args.n))
    print(text)
    if args.md:
        Path(args.md).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
