/* zkclob risk: value at risk and expected shortfall (historical, parametric,
 * Monte Carlo), aggregate loss by FFT, real-time position risk and
 * incremental correlation with breakdown detection.
 *
 * Losses are positive numbers (loss = -P&L). Matrices are row-major doubles.
 * *device selects the device and, on return, names the one that ran the call. */
#ifndef ZKCLOB_RISK_H
#define ZKCLOB_RISK_H

#include "zkclob/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- VaR / ES, scenarios, Monte Carlo, FFT aggregation ---- */

/* ---- Position tracking, limits and pre-trade checks ---- */

/* ---- Correlation and breakdown detection ---- */

#ifdef __cplusplus
}
#endif

#endif
