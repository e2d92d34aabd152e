"""aframe's online search: live low-latency frames through the exported
model, candidates with FARs in a store, alerts to GraceDB, and a replay
to test it end to end."""
