"""Triton python-backend runner for the files of an aframe repository.

The Triton server shipped with the nvidia-pytriton wheel has only the
python backend, so the CPU flavour of the repository serves every model
through this file: it runs the version directory's ``model.onnx``
(onnxruntime) or ``model.pt`` (TorchScript), the same files the native
onnxruntime/libtorch backends and the embedded engine run.

A model whose config has ``sequence_batching`` is the snapshotter: its
ONNX graph takes the sequence's state as an input and returns the new
state, which is kept here per correlation id (the python backend has no
implicit state).  The START control input resets a sequence's state to
zeros, END forgets it.

This file runs inside the server's own environment: it imports neither
aframe nor anything the server's venv does not hold.
"""

import json
import os
from pathlib import Path

import numpy as np
import triton_python_backend_utils as pb_utils

THREADS = int(os.environ.get("OMP_NUM_THREADS", "0"))


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        directory = Path(args["model_repository"]) / args["model_version"]
        self.inputs = [i["name"] for i in config["input"]]
        self.outputs = [o["name"] for o in config["output"]]
        self.stateful = "sequence_batching" in config
        self.states = {}
        if (directory / "model.onnx").exists():
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = THREADS
            # spinning onnxruntime threads would starve the other models'
            # processes on a CPU server
            options.add_session_config_entry(
                "session.intra_op.allow_spinning", "0"
            )
            session = onnxruntime.InferenceSession(
                str(directory / "model.onnx"),
                options,
                providers=["CPUExecutionProvider"],
            )
            self.names = [o.name for o in session.get_outputs()]
            if self.stateful:
                state = session.get_inputs()[1]
                self.state_shape = state.shape
            self.run = lambda feeds: session.run(None, feeds)
        else:
            import torch

            if THREADS:
                torch.set_num_threads(THREADS)
            module = torch.jit.load(
                str(directory / "model.pt"), map_location="cpu"
            )
            self.names = self.outputs

            def run(feeds):
                with torch.no_grad():
                    tensors = [torch.as_tensor(feeds[n]) for n in self.inputs]
                    out = module(*tensors)
                out = out if isinstance(out, tuple) else (out,)
                return [o.numpy() for o in out]

            self.run = run

    def execute(self, requests):
        responses = []
        for request in requests:
            feeds = {
                name: pb_utils.get_input_tensor_by_name(
                    request, name
                ).as_numpy()
                for name in self.inputs
            }
            if self.stateful:
                feeds = self.with_state(request, feeds)
            results = dict(zip(self.names, self.run(feeds), strict=True))
            if self.stateful:
                self.keep_state(request, results)
            responses.append(
                pb_utils.InferenceResponse(
                    [
                        pb_utils.Tensor(
                            name, np.ascontiguousarray(results[name])
                        )
                        for name in self.outputs
                    ]
                )
            )
        return responses

    def with_state(self, request, feeds):
        sequence = request.correlation_id()
        start = pb_utils.get_input_tensor_by_name(request, "START")
        if start.as_numpy().any() or sequence not in self.states:
            self.states[sequence] = np.zeros(self.state_shape, np.float32)
        return {**feeds, "state": self.states[sequence]}

    def keep_state(self, request, results):
        sequence = request.correlation_id()
        end = pb_utils.get_input_tensor_by_name(request, "END")
        if end.as_numpy().any():
            self.states.pop(sequence, None)
        else:
            self.states[sequence] = results["new_state"]
