"""p_astro: the probability that an event of the search is astrophysical
rather than terrestrial, from the rate densities of its detection
statistic in the time-slid background and among the injections
(docs/p_astro.md)."""
