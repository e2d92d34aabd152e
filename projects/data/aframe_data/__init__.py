"""aframe's data stage: segments, background strain and simulated signals."""
