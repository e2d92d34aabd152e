"""The errors every stage reports as bad input."""


class DataError(ValueError):
    """Input a stage cannot use: the message says what and where."""


class ContractError(DataError):
    """A file that does not hold what its contract says it holds."""


def check_positive(**values: float | None) -> None:
    """Refuse a value that is not > 0, naming it; None passes (unset).

    Raises:
        DataError: ``name = value: it must be positive``.
    """
    for name, value in values.items():
        if value is not None and not value > 0:
            raise DataError(f"{name} = {value}: it must be positive")


def check_not_negative(**values: float | None) -> None:
    """Refuse a value that is < 0 (or NaN), naming it; None passes."""
    for name, value in values.items():
        if value is not None and not value >= 0:
            raise DataError(f"{name} = {value}: it must not be negative")
