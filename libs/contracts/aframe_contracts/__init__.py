"""The files that pass between aframe's stages, one contract each.

Every artefact a stage writes for another has a typed, frozen dataclass
here with ``write`` and ``read``; nothing else touches its layout.

========================  =============================  ================
artefact                  contract                       written by
========================  =============================  ================
segment lists             segments (read/write_segments) data
background strain         strain.BackgroundStrain        data
waveforms, injections     waveforms.WaveformSet          data
trained model settings    model.ModelSettings            train
repository manifest       repository.Manifest            export
time calibration          repository.TimeCalibration     infer calibrate
background events         events.BackgroundEvents        infer
foreground events         events.ForegroundEvents        infer
MLGWSC-1 scores           score.Score                    infer mlgwsc-score
========================  =============================  ================

Every file records its layout and the layout's version
(``layout.LAYOUT_KEY``, ``layout.VERSION_KEY``); a reader refuses any
other version, naming both.  Every file is written atomically
(``files``): a reader sees all of it or none of it.

``strain_files`` reads the strain files users bring (GWOSC HDF5, the
MLGWSC-1 layout, GWF frames) for every stage that takes them;
``strain_checks`` is what every reader of strain checks of what it
reads, before any work.

``cli`` is the contract of the stages' command lines: how the
orchestration calls a stage, and how a stage reports bad input.

The package needs numpy and h5py only (and imports them, the CLIs'
jsonargparse and the GWF reader's gwpy, lazily), so that every stage
image and the orchestration layer can import it.
"""
