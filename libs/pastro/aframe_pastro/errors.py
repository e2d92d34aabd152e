"""The p_astro library's error for input it cannot fit or evaluate."""

from aframe_contracts.errors import DataError


class PAstroError(DataError):
    """Samples, rates or a model p_astro cannot be had from: the message
    says what is wrong."""
