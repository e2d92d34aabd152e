"""The signal model shared by the waveform subcommands."""

from dataclasses import dataclass

from aframe_contracts.errors import (
    DataError,
    check_not_negative,
    check_positive,
)


@dataclass(frozen=True)
class Signals:
    """The injection prior and the waveform model.

    Args:
        prior: the prior's name (see aframe_priors.priors).
        approximant: IMRPhenomPv2, IMRPhenomD or TaylorF2.
        sample_rate: sample rate of the waveforms (Hz).
        duration: length of the waveforms (s).
        minimum_frequency: where the waveforms start (Hz).
        reference_frequency: where the spins are defined (Hz).
        right_pad: time from coalescence to the end of a waveform (s).
    """

    prior: str
    approximant: str
    sample_rate: float
    duration: float
    minimum_frequency: float
    reference_frequency: float
    right_pad: float

    def __post_init__(self) -> None:
        check_positive(
            sample_rate=self.sample_rate,
            duration=self.duration,
            minimum_frequency=self.minimum_frequency,
            reference_frequency=self.reference_frequency,
        )
        check_not_negative(right_pad=self.right_pad)
        if self.right_pad >= self.duration:
            raise DataError(
                f"right_pad = {self.right_pad} s: it must be shorter than "
                f"the waveforms' duration = {self.duration} s"
            )
        if self.minimum_frequency >= self.sample_rate / 2:
            raise DataError(
                f"minimum_frequency = {self.minimum_frequency} Hz: it must "
                f"be below Nyquist, sample_rate / 2 = {self.sample_rate / 2}"
                " Hz"
            )

    def polarisations(self, parameters):
        """(cross, plus) of the draws ``parameters``; see waveforms."""
        from aframe_data import waveforms

        return waveforms.polarisations(
            parameters,
            self.approximant,
            self.sample_rate,
            self.duration,
            self.minimum_frequency,
            self.reference_frequency,
            self.right_pad,
        )

    def attrs(self) -> dict:
        return {
            "prior": self.prior,
            "approximant": self.approximant,
            "sample_rate": self.sample_rate,
            "duration": self.duration,
            "minimum_frequency": self.minimum_frequency,
            "reference_frequency": self.reference_frequency,
            "right_pad": self.right_pad,
        }
