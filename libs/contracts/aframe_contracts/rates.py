"""The astrophysical merger rate the search assumes by default (for its
p_astro), in a module without numerics, so that the pipeline's tasks can
name it."""

# GWTC-3's BBH merger rate density at z = 0.2 lies between 17.9 and 44
# Gpc^-3 yr^-1 (the union of its methods' 90% intervals; LVK, "The
# population of merging compact binaries inferred using gravitational
# waves through GWTC-3", PRX 13, 011048 (2023), arXiv:2111.03634): the
# default is their geometric mean
GWTC3_BBH_RATE = 28.1
