"""Risk: value at risk and expected shortfall (historical, parametric, Monte
Carlo), aggregate loss by FFT, real-time position risk and incremental
correlation with breakdown detection.

Losses are positive numbers (loss = -P&L). Every function takes and returns
NumPy arrays; inputs already contiguous and of the right dtype are not copied.
"""

from . import _zkclob

# ---- VaR / ES, scenarios, Monte Carlo, FFT aggregation ----

# ---- Position tracking, limits and pre-trade checks ----

# ---- Correlation and breakdown detection ----
