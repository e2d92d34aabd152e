"""Signal processing shared by the stages: the PSD, whitening and SNR.

``psd``
    the noise power spectral density of strain.
``whitening``
    strain whitened into the windows the network sees (``Whitener``),
    by training, export and so inference alike.
``snr``
    the optimal signal-to-noise ratio of a signal in noise of a PSD.

Each has one definition.  Where there are two implementations, one in
numpy for whole files (the data stage, the benchmark) and one in torch
for batches on the training device, the module says so, and the tests
hold them to each other.
"""
