"""Signal processing shared by the stages: the PSD, whitening, SNR,
resampling and where injections go.

``psd``
    the noise power spectral density of strain.
``whitening``
    strain whitened into the windows the network sees (``Whitener``),
    by training, export and so inference alike.
``snr``
    the optimal signal-to-noise ratio of a signal in noise of a PSD.
``resample``
    strain brought to another sample rate (polyphase filtering).
``placement``
    the times of injections spread over a stretch of strain.
``glitches``
    simulated glitches (gengli blips) and their record.
``bank``
    the template-bank network: trained by the train stage, and run in
    parts by the inference engine's bank backend.

Each has one definition.  Where there are two implementations, one in
numpy for whole files (the data stage, the benchmark) and one in torch
for batches on the training device, the module says so, and the tests
hold them to each other.
"""
