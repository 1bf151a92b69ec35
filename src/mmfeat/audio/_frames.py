"""``FrameSettings``: how a clip is cut into frames, validated once at the public boundary.

Every frame-wise audio op (STFT, spectra, MFCC, descriptors, zero-crossing rate, RMS)
frames its clips the same way: ``n_fft`` samples per frame, ``hop_length`` apart, a
``win_length`` window zero-padded to ``n_fft``, optionally centred with ``pad_mode``
padding. The public functions keep librosa's keyword arguments; they build one
``FrameSettings`` from them and hand that object to the backends, which trust it.
"""

from __future__ import annotations

from dataclasses import InitVar, dataclass

import numpy as np

from ._checks import check_int, check_pad_mode, check_window, n_frames, valid_frame_counts


# eq=False: the window may be an ndarray or a callable, which have no value equality
# (and an ndarray no hash); settings are compared by identity, never needed otherwise
@dataclass(frozen=True, eq=False)
class FrameSettings:
    """Validated, normalised framing parameters (librosa's meanings).

    Parameters
    ----------
    n_fft : int >= 1
        Samples per frame (the FFT size; ``frame_length`` of zero-crossing rate and
        RMS, see :meth:`for_frame_length`).
    hop_length : int >= 1, optional
        Samples between frame starts. Default ``win_length // 4`` (librosa.stft's);
        the feature functions pass their own default (512).
    win_length : int, 1 <= win_length <= n_fft, optional
        Window length, zero-padded to ``n_fft`` centred. Default ``n_fft``.
    window : str, tuple, number, callable or (win_length,) array, default "hann"
        As ``scipy.signal.get_window(window, win_length, fftbins=True)``.
    center : bool, default True
        Pad ``n_fft // 2`` samples on both sides so that frame t is centred at
        ``t * hop_length``.
    pad_mode : {"constant", "reflect", "edge"}, default "constant"

    Raises
    ------
    TypeError, ValueError
        With the argument's name, what was expected and what arrived (the checks of
        :mod:`._checks`).
    """

    n_fft: int
    hop_length: int | None = None
    win_length: int | None = None
    window: object = "hann"
    center: bool = True
    pad_mode: str = "constant"
    #: the argument name ``n_fft`` is reported under (``frame_length`` for zcr/rms)
    length_name: InitVar[str] = "n_fft"

    def __post_init__(self, length_name: str) -> None:
        n_fft = check_int(self.n_fft, length_name, minimum=1)
        win = n_fft if self.win_length is None else check_int(self.win_length, "win_length")
        if win > n_fft:
            raise ValueError(f"win_length={win} must be <= {length_name}={n_fft}")
        hop = max(win // 4, 1) if self.hop_length is None else self.hop_length
        hop = check_int(hop, "hop_length", minimum=1)
        window = check_window(self.window, win)
        if not isinstance(self.center, (bool, np.bool_)):
            raise TypeError(f"center must be a bool, got {self.center!r}")
        pad_mode = check_pad_mode(self.pad_mode)
        # frozen: the normalised values are set once, here, and never again
        for name, value in (("n_fft", n_fft), ("hop_length", hop), ("win_length", win),
                            ("window", window), ("center", bool(self.center)),
                            ("pad_mode", pad_mode)):
            object.__setattr__(self, name, value)

    @classmethod
    def for_frame_length(cls, frame_length, hop_length, center, pad_mode) -> FrameSettings:
        """Settings of the window-less ops (zero-crossing rate, RMS): frames of
        ``frame_length`` samples, errors naming ``frame_length``."""
        return cls(frame_length, hop_length, None, "hann", center, pad_mode,
                   length_name="frame_length")

    @property
    def pad(self) -> int:
        """Samples of padding before the first frame: ``n_fft // 2`` centred, else 0."""
        return self.n_fft // 2 if self.center else 0

    @property
    def n_bins(self) -> int:
        """Frequency bins of the one-sided spectrum: ``1 + n_fft // 2``."""
        return self.n_fft // 2 + 1

    def n_frames(self, T: int) -> int:
        """Frames of a (padded) batch of T samples: librosa's count for a T-sample clip."""
        return n_frames(T, self.n_fft, self.hop_length, self.center)

    def valid_frames(self, lengths) -> np.ndarray:
        """(N,) int64 frames of each clip alone (``lengths`` (N,)); frames at or past
        this count are zero in every output."""
        return valid_frame_counts(lengths, self.n_fft, self.hop_length, self.center)
