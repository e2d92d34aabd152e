"""The named injection priors (bilby), as upstream keeps them in a library
of their own: the data stage draws from them, and the report reweights
from the sampling prior to its populations (``aframe_priors.priors``)."""
