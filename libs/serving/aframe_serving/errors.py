"""What serving a repository reports: the stage CLIs turn these into one
line and exit status 2."""


class RepositoryError(ValueError):
    """The model repository cannot analyse the data as asked."""


class ServerError(RuntimeError):
    """The Triton server failed to answer."""


class StreamError(ValueError):
    """The strain cannot be streamed through the model as asked."""
