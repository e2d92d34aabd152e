"""Every file a finished experiment's stages pass between them reads back
through its contract.

Set AFRAME_EXPERIMENT to a finished experiment directory (``make
quickstart`` writes one; CI runs it, then this).
"""

import os
from pathlib import Path

import pytest

from aframe_contracts.events import BackgroundEvents, ForegroundEvents
from aframe_contracts.model import ModelSettings
from aframe_contracts.pastro import PAstroModel
from aframe_contracts.repository import Manifest, TimeCalibration
from aframe_contracts.segments import read_segments
from aframe_contracts.strain import BackgroundStrain
from aframe_contracts.waveforms import WaveformSet

# where a Sandbox experiment keeps each artefact, and its contract
CONTRACTS = {
    "data/train/segments.txt": read_segments,
    "data/test/segments.txt": read_segments,
    "data/train/background/*.hdf5": BackgroundStrain.read,
    "data/test/background/*.hdf5": BackgroundStrain.read,
    "data/train/training_waveforms/*.hdf5": WaveformSet.read,
    "data/train/validation_waveforms.hdf5": WaveformSet.read,
    "data/test/injections/*.hdf5": WaveformSet.read,
    "training/model.json": ModelSettings.read,
    "results/model_repo/manifest.json": lambda p: Manifest.read(p.parent),
    "results/model_repo/timing.json": lambda p: TimeCalibration.read(p.parent),
    "results/infer/*/background.hdf5": BackgroundEvents.read,
    "results/infer/*/foreground.hdf5": ForegroundEvents.read,
    "results/background.hdf5": BackgroundEvents.read,
    "results/foreground.hdf5": ForegroundEvents.read,
    # the report and the online search read it
    "results/p_astro.hdf5": PAstroModel.read,
}
# the plots stage's product, which no stage reads
PRODUCTS = {"results/sensitive_volume.h5"}
# what the stages keep for people: logs, checkpoints' side files, scratch
IGNORED = ("logs", "tmp", "checkpoints", "lightning_logs")

EXPERIMENT = os.environ.get("AFRAME_EXPERIMENT")


@pytest.mark.skipif(
    not EXPERIMENT,
    reason="set AFRAME_EXPERIMENT to a finished experiment (make "
    "quickstart writes one)",
)
def test_every_file_reads_through_its_contract():
    root = Path(EXPERIMENT)
    files = {
        path.relative_to(root).as_posix()
        for suffix in ("*.hdf5", "*.h5", "*.json")
        for path in root.rglob(suffix)
        if not set(path.relative_to(root).parts) & set(IGNORED)
    }
    assert "results/model_repo/manifest.json" in files, "not an experiment"
    read = set()
    for pattern, reader in CONTRACTS.items():
        matches = sorted(root.glob(pattern))
        assert matches, f"{pattern}: the experiment has none"
        for path in matches:
            reader(path)
            read.add(path.relative_to(root).as_posix())
    assert files - read == PRODUCTS, "files without a contract"


@pytest.mark.skipif(
    not EXPERIMENT,
    reason="set AFRAME_EXPERIMENT to a finished experiment (make "
    "quickstart writes one)",
)
def test_glitches_are_recorded_beside_the_strain_and_reported():
    """An experiment with glitches (the quickstart's: gengli at O3a's
    rates) records them in every background file, and its report counts
    them against the loudest background events."""
    root = Path(EXPERIMENT)
    backgrounds = sorted(root.glob("data/*/background/*.hdf5"))
    recorded = [BackgroundStrain.read(path).glitches for path in backgrounds]
    if all(table is None for table in recorded):
        pytest.skip("the experiment has no glitches (glitch_source = none)")
    assert all(table is not None for table in recorded)
    assert sum(len(table) for table in recorded) > 0
    page = (root / "results" / "report.html").read_text()
    assert "<h3>Glitches</h3>" in page
