"""Which GPUs a stage sees, from the pipeline's ``--gpus``.

Pure functions of the ``gpus`` string (comma-separated device indices, as
``CUDA_VISIBLE_DEVICES`` takes them), so that the policy is one place:

* a task that is not a workflow branch (training, export) sees every GPU:
  training runs data-parallel over them (DDP), and a Triton server started
  with all of them places its model instances on each;
* branch ``i`` of a workflow (inference, waveform generation) sees the one
  GPU ``gpus[i % n]``, so branches running side by side spread over the
  GPUs instead of all piling onto the first.
"""


def parse(gpus: str) -> list[str]:
    """The device indices in ``gpus``, in order, blanks dropped.

    Raises:
        ValueError: an entry repeats, so two workers would share a GPU by
            accident.
    """
    devices = [g.strip() for g in gpus.split(",") if g.strip()]
    repeated = sorted({d for d in devices if devices.count(d) > 1})
    if repeated:
        raise ValueError(
            f"--gpus {gpus!r} names GPU {', '.join(repeated)} more than once"
        )
    return devices


def visible(gpus: str, branch: int | None = None) -> str:
    """``CUDA_VISIBLE_DEVICES`` of a stage; empty leaves it unset.

    Args:
        gpus: the pipeline's ``--gpus``, e.g. ``"0,1"``.
        branch: the branch number of a workflow branch, or None for a
            task that is not a branch (it gets every GPU).

    Returns:
        ``"0,1"`` for a non-branch task, ``gpus[branch % n]`` for a
        branch, ``""`` when ``gpus`` is empty.
    """
    devices = parse(gpus)
    if not devices:
        return ""
    if branch is None:
        return ",".join(devices)
    if branch < 0:
        raise ValueError(f"a workflow branch number is >= 0, not {branch}")
    return devices[branch % len(devices)]


def trainer_devices(gpus: str) -> dict[str, object]:
    """The Lightning trainer settings that train on every GPU of ``gpus``.

    ``devices`` is the number of visible GPUs (the task sets
    ``CUDA_VISIBLE_DEVICES`` to them, so Lightning counts from 0), and
    more than one trains with DDP.  The accelerator is left to the user's
    YAML (``auto`` by default), so a CPU run with ``--gpus 0`` still runs.
    Empty ``gpus`` gives no settings: the user's YAML decides.
    """
    count = len(parse(gpus))
    if count == 0:
        return {}
    if count == 1:
        return {"devices": 1}
    return {"devices": count, "strategy": "ddp"}


def instances(per_gpu: int, gpus: str) -> int:
    """Model instances (or streams) in all: ``per_gpu`` on each GPU.

    Triton's ``instance_group { count: per_gpu kind: KIND_GPU }`` places
    ``per_gpu`` instances on every GPU the server sees; this is the total
    a client should keep busy.  Without GPUs it is ``per_gpu``.
    """
    if per_gpu < 1:
        raise ValueError(f"instances per GPU must be >= 1, not {per_gpu}")
    return per_gpu * max(1, len(parse(gpus)))
