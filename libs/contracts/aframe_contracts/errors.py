"""The errors every stage reports as bad input."""


class DataError(ValueError):
    """Input a stage cannot use: the message says what and where."""


class ContractError(DataError):
    """A file that does not hold what its contract says it holds."""
