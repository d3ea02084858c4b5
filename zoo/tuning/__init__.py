"""Tuning: the settings that reach a quality target fastest on this machine.

`trial` runs one training in its own process; `search` (zoo tune) measures execution
settings, then searches the recipe; `cache` keeps each machine's winners, as recipe files.
"""

# The seed of a search's data split, weights and shuffling: not one of the seeds (0, 1,
# 2...) the time-to-target suite checks a tuned recipe on, so those runs see validation
# splits (and synthetic data) the search never chose by. Every entry point defaults to
# it (`zoo.tuning.search.tune`, `zoo tune --seed`).
TUNING_SEED = 100
