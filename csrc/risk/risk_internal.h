/* Helpers shared by the risk modules (VaR/ES, Monte Carlo, FFT). */
#ifndef ZC_RISK_INTERNAL_H
#define ZC_RISK_INTERNAL_H

#include "zkclob/device.h"
#include "zkclob/risk.h"

/* Scratch that one batch launch may use; items are launched in groups below it. */
#define ZC_RISK_SCRATCH_BYTES ((size_t)64 << 20)

zc_status zc_risk_check_finite(const char *name, const double *x, size_t n);
zc_status zc_risk_check_confidence(double c);
/* rows x cols fits in size_t bytes of doubles. */
zc_status zc_risk_check_size(const char *name, size_t rows, size_t cols);

/* Whether device dev shares host memory (buffers then wrap caller arrays). */
zc_status zc_risk_shared(int dev, int *shared);
/* A device buffer holding host[0..bytes): wrapped when shared, else copied. */
zc_status zc_risk_buf_in(int dev, int shared, const void *host, size_t bytes, zc_devbuf **out);
/* A device buffer the results for host[0..bytes) go to. */
zc_status zc_risk_buf_out(int dev, int shared, void *host, size_t bytes, zc_devbuf **out);
/* Copies a buf_out buffer back to host (nothing to do when shared). */
zc_status zc_risk_buf_fetch(int shared, zc_devbuf *b, void *host, size_t bytes);

/* Batched in-place complex FFT (interleaved doubles, `batch` transforms of
 * length n, unnormalised) through the device backend's fft op; defined in
 * csrc/device/registry.c. */
zc_status zc_dev_fft(int dev, zc_devbuf *buf, size_t n, size_t batch, int inverse);

#endif
