"""Serving an exported model repository: what inference, its calibration,
the MLGWSC-1 commands and the online search share.

``repository``
    ``ModelRepository``: a repository opened once, its manifest read and
    its files verified, with its stream geometry and time calibration.
``backends``
    ``Serving``, the settings of how a repository is served (in process
    or by Triton), and ``streamer``, whole strains through it.
``sequences``
    streams one update at a time, for the online search.
``engine``, ``server``
    the in-process engine and the Triton client; a Triton server started
    for a run.
``stream``, ``postprocess``
    how strain becomes a stream's updates, and outputs become events.
``errors``
    what a stage reports as bad input.
"""
