"""Log-mel spectrograms in NumPy, with the parameters and filter bank of tf.signal.

Speech-commands style: 1 s of 16 kHz audio, 30 ms frames every 20 ms (49 frames), a
512-point FFT and 40 mel bands from 20 Hz to 7.6 kHz. The TFDS pipeline computes the same
thing with tf.signal, so a model trained on one input can read the other.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16000
FRAME_LENGTH = 480
FRAME_STEP = 320
FFT_LENGTH = 512
MEL_BINS = 40
LOWER_HZ, UPPER_HZ = 20.0, 7600.0


def _hertz_to_mel(f):
    return 1127.0 * np.log1p(np.asarray(f, dtype="float64") / 700.0)


def mel_matrix(
    num_mel_bins=MEL_BINS,
    num_spectrogram_bins=FFT_LENGTH // 2 + 1,
    sample_rate=SAMPLE_RATE,
    lower_hz=LOWER_HZ,
    upper_hz=UPPER_HZ,
) -> np.ndarray:
    """The (spectrogram bins, mel bins) matrix of tf.signal.linear_to_mel_weight_matrix."""
    freqs = np.linspace(0.0, sample_rate / 2, num_spectrogram_bins)[1:]
    bins_mel = _hertz_to_mel(freqs)[:, None]
    edges = np.linspace(_hertz_to_mel(lower_hz), _hertz_to_mel(upper_hz), num_mel_bins + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    weights = np.maximum(
        0.0,
        np.minimum((bins_mel - lower) / (center - lower), (upper - bins_mel) / (upper - center)),
    )
    return np.pad(weights, [[1, 0], [0, 0]]).astype("float32")


def log_mel_spectrogram(waveforms: np.ndarray) -> np.ndarray:
    """(batch, samples) float waveforms -> (batch, frames, MEL_BINS, 1) log-mel energies."""
    n = 1 + (waveforms.shape[1] - FRAME_LENGTH) // FRAME_STEP
    index = np.arange(FRAME_LENGTH)[None, :] + FRAME_STEP * np.arange(n)[:, None]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(FRAME_LENGTH) / FRAME_LENGTH)  # periodic Hann
    frames = waveforms[:, index] * window
    magnitude = np.abs(np.fft.rfft(frames, n=FFT_LENGTH, axis=-1)).astype("float32")
    mel = magnitude @ mel_matrix()
    return np.log(mel + 1e-6)[..., None].astype("float32")
