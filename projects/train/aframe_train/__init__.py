"""aframe's train stage: the Lightning detector and its training."""
