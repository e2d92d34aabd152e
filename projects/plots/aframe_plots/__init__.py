"""aframe's plots stage: the sensitive volume and the run report."""
