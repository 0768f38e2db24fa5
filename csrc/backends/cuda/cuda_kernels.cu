/* The single-source CUDA kernels, compiled by nvcc into the plugin's
 * fatbinary, and the table cuda_backend.c uses to launch them by name.
 * Adding a kernel: one #include here and one ZC_CU_KERNEL line below. */
#include <stddef.h>

#include "cuda/philox.cu"
#include "cuda/ntt.cu"
#include "cuda/hash.cu"
#include "cuda/match.cu"
#include "cuda/indicators.cu"
#include "cuda/secp256k1.cu"
#include "cuda/risk.cu"

/* Layout shared with cuda_backend.c, which declares the same struct. */
struct zc_cuda_kernel {
    const char *name;
    const void *fn; /* host-side handle of the kernel, as cudaLaunchKernel expects */
};

#define ZC_CU_KERNEL(k) {#k, (const void *)k}

extern "C" __attribute__((visibility("hidden"))) const struct zc_cuda_kernel zc_cuda_kernels[] = {
    ZC_CU_KERNEL(zc_philox),
    ZC_CU_KERNEL(zc_ntt_pass_bb),
    ZC_CU_KERNEL(zc_ntt_pass_gl),
    ZC_CU_KERNEL(zc_ntt_scale_bb),
    ZC_CU_KERNEL(zc_ntt_scale_gl),
    ZC_CU_KERNEL(zc_ntt_pointwise_bb),
    ZC_CU_KERNEL(zc_ntt_pointwise_gl),
    ZC_CU_KERNEL(zc_poly_eval_partial_bb),
    ZC_CU_KERNEL(zc_poly_eval_partial_gl),
    ZC_CU_KERNEL(zc_poly_eval_combine_bb),
    ZC_CU_KERNEL(zc_poly_eval_combine_gl),
    ZC_CU_KERNEL(zc_batch_inv_bb),
    ZC_CU_KERNEL(zc_batch_inv_gl),
    ZC_CU_KERNEL(zc_ntt_bitrev_u32),
    ZC_CU_KERNEL(zc_ntt_bitrev_u64),
    ZC_CU_KERNEL(zc_p2_permute),
    ZC_CU_KERNEL(zc_p2_hash),
    ZC_CU_KERNEL(zc_sha256_batch),
    ZC_CU_KERNEL(zc_keccak256_batch),
    ZC_CU_KERNEL(zc_merkle_nodes),
    ZC_CU_KERNEL(zc_md_indicators),
    ZC_CU_KERNEL(zc_book_init),
    ZC_CU_KERNEL(zc_match_books),
    ZC_CU_KERNEL(zc_auction_books),
    ZC_CU_KERNEL(zc_match_compact),
    ZC_CU_KERNEL(zc_match_offsets),
    ZC_CU_KERNEL(zc_secp_verify),
    ZC_CU_KERNEL(zc_risk_windows),
    ZC_CU_KERNEL(zc_risk_portfolios),
    ZC_CU_KERNEL(zc_risk_mc),
    ZC_CU_KERNEL(zc_risk_mc_shocks),
    ZC_CU_KERNEL(zc_risk_stress),
    ZC_CU_KERNEL(zc_risk_fft_combine),
    {NULL, NULL},
};
