"""Triton model configurations for the repository's four models.

    snapshotter  update (C, u)        -> snapshot (C, B)       stateful
    preprocessor strain__0 (C, B)     -> whitened__0 (N, C, K)
    aframe       whitened (N, C, K)   -> detection_statistic (N, 1)
    aframe-stream: the ensemble of the three, update -> statistic

Two flavours serve the same files.  ``native`` uses Triton's own backends
(onnxruntime or TensorRT for the detector, libtorch for the whitener,
onnxruntime with implicit sequence state for the snapshotter): NVIDIA's
Triton container on a GPU node.  ``python`` runs every model through
``triton_models/model.py``: the server in the nvidia-pytriton wheel,
which has only the python backend (the CPU flavour used here and in the
tests).  libtorch names a module's tensors ``<name>__<index>``, hence the
preprocessor's names.
"""

from dataclasses import dataclass

from aframe_contracts.repository import ENSEMBLE

# sequences the snapshotter holds at once: every stream of every client
MAX_SEQUENCES = 1024
# a sequence idle this long (a client that died) is dropped (us)
IDLE_MICROSECONDS = 600_000_000


@dataclass(frozen=True)
class Tensor:
    name: str
    dims: tuple[int, ...]
    dtype: str = "TYPE_FP32"

    def pbtxt(self) -> str:
        dims = ", ".join(str(d) for d in self.dims)
        return (
            f'  {{ name: "{self.name}" data_type: {self.dtype} '
            f"dims: [ {dims} ] }}"
        )


def tensors(block: str, items: list[Tensor]) -> str:
    return f"{block} [\n" + ",\n".join(t.pbtxt() for t in items) + "\n]"


def model_config(
    name: str,
    backend: str,
    inputs: list[Tensor],
    outputs: list[Tensor],
    instances: int,
    kind: str,
    extra: str = "",
) -> str:
    """config.pbtxt of one model; backend is a platform or 'python'."""
    key = "backend" if backend == "python" else "platform"
    lines = [
        f'name: "{name}"',
        f'{key}: "{backend}"',
        "max_batch_size: 0",
        tensors("input", inputs),
        tensors("output", outputs),
        f"instance_group [ {{ count: {instances} kind: {kind} }} ]",
    ]
    if extra:
        lines.append(extra)
    return "\n".join(lines) + "\n"


def control(name: str, kind: str) -> str:
    return (
        f'    {{ name: "{name}" control [ {{ kind: {kind} '
        "fp32_false_true: [ 0, 1 ] } ] }"
    )


def sequence_batching(state: Tensor | None) -> str:
    """The snapshotter's sequence batcher.

    The oldest-first strategy lets one instance hold many sequences, so
    the background and foreground streams of every branch (and of several
    clients sharing a server) advance together.  Native backends keep the
    state themselves (implicit state); the python flavour keeps it in
    model.py and reads the START/END flags as control inputs.
    """
    lines = [
        "sequence_batching {",
        f"  max_sequence_idle_microseconds: {IDLE_MICROSECONDS}",
        f"  oldest {{ max_candidate_sequences: {MAX_SEQUENCES} }}",
    ]
    if state is None:
        lines += [
            "  control_input [",
            control("START", "CONTROL_SEQUENCE_START") + ",",
            control("END", "CONTROL_SEQUENCE_END"),
            "  ]",
        ]
    else:
        dims = ", ".join(str(d) for d in state.dims)
        lines += [
            "  state [ {",
            '    input_name: "state" output_name: "new_state"',
            f"    data_type: TYPE_FP32 dims: [ {dims} ]",
            "    initial_state { data_type: TYPE_FP32 "
            f'dims: [ {dims} ] zero_data: true name: "zeros" }}',
            "  } ]",
        ]
    return "\n".join(lines + ["}"])


def ensemble_config(update: Tensor, statistic: Tensor, version: int) -> str:
    """The aframe-stream ensemble; its steps pin one export's versions.

    Sequence ids and flags sent to the ensemble reach the snapshotter.
    """

    def step(model: str, inputs: dict, outputs: dict) -> str:
        maps = [
            f'input_map {{ key: "{k}" value: "{v}" }}'
            for k, v in inputs.items()
        ] + [
            f'output_map {{ key: "{k}" value: "{v}" }}'
            for k, v in outputs.items()
        ]
        return (
            f'  {{ model_name: "{model}" model_version: {version} '
            + " ".join(maps)
            + " }"
        )

    steps = [
        step("snapshotter", {"update": "update"}, {"snapshot": "snapshot"}),
        step(
            "preprocessor",
            {"strain__0": "snapshot"},
            {"whitened__0": "whitened"},
        ),
        step(
            "aframe",
            {"whitened": "whitened"},
            {"detection_statistic": "detection_statistic"},
        ),
    ]
    return "\n".join(
        [
            f'name: "{ENSEMBLE}"',
            'platform: "ensemble"',
            "max_batch_size: 0",
            tensors("input", [update]),
            tensors("output", [statistic]),
            "ensemble_scheduling { step [",
            ",\n".join(steps),
            "] }",
            "",
        ]
    )
