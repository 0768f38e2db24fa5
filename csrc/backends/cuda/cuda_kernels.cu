/* The single-source CUDA kernels, compiled by nvcc into the plugin's
 * fatbinary, and the table cuda_backend.c uses to launch them by name.
 * Adding a kernel: one #include here and one ZC_CU_KERNEL line below. */
#include <stddef.h>

#include "cuda/philox.cu"

/* Layout shared with cuda_backend.c, which declares the same struct. */
struct zc_cuda_kernel {
    const char *name;
    const void *fn; /* host stub, as cudaLaunchKernel expects */
};

#define ZC_CU_KERNEL(k) {#k, (const void *)k}

extern "C" __attribute__((visibility("hidden"))) const struct zc_cuda_kernel zc_cuda_kernels[] = {
    ZC_CU_KERNEL(zc_philox),
    {NULL, NULL},
};
