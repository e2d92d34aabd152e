"""The streaming snapshotter: updates in, overlapping buffers out.

Inference sends a stream as a sequence of updates of ``update_size`` =
batch_size x stride samples.  The snapshotter keeps the last
``buffer_size - update_size`` samples of its sequence as state and answers
each update with the whole buffer the preprocessor whitens: the state
followed by the update.  It is an ONNX model with the state as an explicit
input and output, so the same file runs under Triton's implicit state
management (onnxruntime backend), in our python-backend model (the state
kept per correlation id) and in the embedded engine.
"""

import torch


class Snapshotter(torch.nn.Module):
    """(C, update_size) update + (C, state_size) state -> buffer, state."""

    def __init__(self, update_size: int, buffer_size: int) -> None:
        super().__init__()
        if buffer_size < update_size:
            raise ValueError(
                f"a buffer of {buffer_size} samples cannot hold an update "
                f"of {update_size}"
            )
        self.update_size = update_size
        self.state_size = buffer_size - update_size

    def forward(
        self, update: torch.Tensor, state: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        snapshot = torch.cat([state, update], dim=-1)
        return snapshot, snapshot[:, self.update_size :]


def export_onnx(snapshotter: Snapshotter, channels: int, path) -> None:
    """Write the snapshotter as ONNX: inputs update, state; outputs
    snapshot, new_state."""
    update = torch.zeros(channels, snapshotter.update_size)
    state = torch.zeros(channels, snapshotter.state_size)
    torch.onnx.export(
        snapshotter,
        (update, state),
        str(path),
        input_names=["update", "state"],
        output_names=["snapshot", "new_state"],
        opset_version=17,
        dynamo=False,
    )
