"""aframe's infer stage: inference over time-slid background and injections."""
