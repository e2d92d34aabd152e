"""aframe's export stage: the Triton model repository."""
