"""Tuning: the settings that reach a quality target fastest on this machine.

`trial` runs one training in its own process; `search` (zoo tune) measures execution
settings, then searches the recipe; `cache` keeps each machine's winners.
"""
