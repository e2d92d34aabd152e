"""The trained model's settings: ``model.json``, beside the weights.

``$AFRAME_TRAIN_RUN_DIR/model.json``, layout ``model-settings`` version 1,
written by training: a JSON object of the fields of ``ModelSettings``
below, with ``layout`` and ``layout_version``.  They are what export
needs to rebuild the preprocessing the network was trained behind, and
export stops when the pipeline's ``ifos``, ``sample_rate``,
``kernel_length`` or ``fduration`` differ from them.  ``WhiteningSpec``
is the part of them that says how strain is whitened.

``digest`` is the sha256 of the other fields: a file edited after
training is refused, since a network that pools over its window accepts
any kernel, and an edited one would be exported behind a preprocessing
it was not trained behind without an error.  Files from before the
digest have none, and are read as they are.
"""

from dataclasses import dataclass, fields, replace
from pathlib import Path

from aframe_contracts.errors import ContractError
from aframe_contracts.layout import content_digest, read_record, write_record

LAYOUT, VERSION = "model-settings", 1
FILE = "model.json"


@dataclass(frozen=True)
class WhiteningSpec:
    """How strain is whitened into the windows the network sees.

    Args:
        sample_rate: samples per second (Hz).
        kernel_length: the whitened window the network sees (s).
        fduration: the whitening filter's length (s); half of it is
            cropped from each side of a window.
        psd_length: background before each window whose PSD whitens it
            (s).
        fftlength: the PSD's FFT length (s); None for kernel_length +
            fduration.
        highpass: frequencies below this are removed (Hz); None for none.
        lowpass: frequencies above this are removed (Hz); None for none.
    """

    sample_rate: float
    kernel_length: float
    fduration: float
    psd_length: float
    fftlength: float | None
    highpass: float | None
    lowpass: float | None

    # the sizes in samples: derived here once, so that training, export
    # and inference cut the same windows out of the same strain
    @property
    def kernel_size(self) -> int:
        """Samples of the whitened kernel the network sees."""
        return round(self.kernel_length * self.sample_rate)

    @property
    def half_filter_size(self) -> int:
        """Samples the whitening crops from each side of a window."""
        return round(self.fduration * self.sample_rate / 2)

    @property
    def window_size(self) -> int:
        """Samples whitened into a kernel: kernel_length + fduration."""
        return round((self.kernel_length + self.fduration) * self.sample_rate)

    @property
    def psd_size(self) -> int:
        """Samples of background whose PSD whitens a window."""
        return round(self.psd_length * self.sample_rate)

    @property
    def input_size(self) -> int:
        """Samples of a raw window the whitener takes: psd_length +
        kernel_length + fduration."""
        length = self.psd_length + self.kernel_length + self.fduration
        return round(length * self.sample_rate)


@dataclass(frozen=True)
class ModelSettings(WhiteningSpec):
    """What a trained network was trained on and behind: the whitening
    (the fields of ``WhiteningSpec``) and these.

    Args:
        ifos: the network's input channels, in order.
        strain_scale: the factor strain is multiplied by before whitening.
        checkpoint: the checkpoint the weights came from.
        valid_auroc: its validation score.
        validation_span: GPS [start, stop) of the background training
            held out; None in models that do not record it.
        response: [start, stop] (s): where the network responds to a
            merger, as the end of its window minus the coalescence time;
            None for the whole kernel, [0, kernel_length] (networks that
            pool over their window fire wherever the merger is in it).
        digest: the sha256 of the other fields, set by ``write``; empty
            in files from before it.
    """

    ifos: list[str]
    strain_scale: float
    checkpoint: str
    valid_auroc: float
    validation_span: list[float] | None = None
    response: list[float] | None = None
    digest: str = ""

    @property
    def response_span(self) -> tuple[float, float]:
        """``response``, or the whole kernel where it is None."""
        if self.response is None:
            return 0.0, self.kernel_length
        start, stop = self.response
        return float(start), float(stop)

    @property
    def whitening(self) -> WhiteningSpec:
        return WhiteningSpec(
            **{f.name: getattr(self, f.name) for f in fields(WhiteningSpec)}
        )

    def write(self, path: Path) -> None:
        record = replace(self, digest=content_digest(self))
        write_record(record, path, LAYOUT, VERSION)

    @classmethod
    def read(cls, path: Path) -> "ModelSettings":
        settings = read_record(cls, path, LAYOUT, VERSION, "model settings")
        if settings.digest and settings.digest != content_digest(settings):
            raise ContractError(
                f"{path} was edited after training: its contents are not "
                "the ones its digest records, and the weights beside it "
                "were trained behind the settings it recorded. Train "
                "again, or undo the edit"
            )
        return settings
