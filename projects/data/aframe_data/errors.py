"""The data stage's error for bad input."""


class DataError(ValueError):
    """Input the data stage cannot use: the message says what and where."""
