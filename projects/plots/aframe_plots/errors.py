"""The plots stage's error for bad input."""


class PlotsError(ValueError):
    """Input the plots stage cannot use: the message says what and where."""
