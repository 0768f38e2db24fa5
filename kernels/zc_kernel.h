/* Portability layer for single-source kernels: the same ZC_FN bodies compile
 * as host C11 (cpu backend), OpenCL C 1.2 and CUDA (nvcc and NVRTC). */
#ifndef ZC_KERNEL_H
#define ZC_KERNEL_H

#if defined(__OPENCL_VERSION__)
#define ZC_TARGET_OPENCL 1
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef uchar uint8_t;
typedef ushort uint16_t;
typedef uint uint32_t;
typedef ulong uint64_t;
typedef char int8_t;
typedef short int16_t;
typedef int int32_t;
typedef long int64_t;
#define ZC_FN static inline
#define ZC_KERNEL __kernel
#define ZC_GLOBAL __global
#define ZC_LOCAL __local
#define ZC_CONSTANT __constant
#define ZC_GID(d) get_global_id(d)
#define ZC_LID(d) get_local_id(d)
#define ZC_BARRIER() barrier(CLK_LOCAL_MEM_FENCE)
#define ZC_BARRIER_GLOBAL() barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE)
#define ZC_GROUP_ID(d) get_group_id(d)
#define ZC_GROUP_FN static inline
#define ZC_LOCAL_PTR __local
#define ZC_RESTRICT restrict
ZC_FN uint64_t zc_mulhi64(uint64_t a, uint64_t b) { return mul_hi(a, b); }

#elif defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define ZC_TARGET_CUDA 1
#if defined(__CUDACC_RTC__)
/* NVRTC has no libc headers. */
typedef unsigned char uint8_t;
typedef unsigned short uint16_t;
typedef unsigned int uint32_t;
typedef unsigned long long uint64_t;
typedef signed char int8_t;
typedef short int16_t;
typedef int int32_t;
typedef long long int64_t;
#else
#include <stdint.h>
#endif
#define ZC_FN static __host__ __device__ __forceinline__
#define ZC_KERNEL extern "C" __global__
#define ZC_GLOBAL
#define ZC_LOCAL __shared__
#define ZC_CONSTANT __constant__
#define ZC_GID(d) ((uint64_t)blockIdx.x * blockDim.x + threadIdx.x)
#define ZC_LID(d) (threadIdx.x)
#define ZC_BARRIER() __syncthreads()
#define ZC_BARRIER_GLOBAL() __syncthreads()
#define ZC_GROUP_ID(d) ((uint64_t)blockIdx.x)
#define ZC_GROUP_FN static __device__ __forceinline__
#define ZC_LOCAL_PTR
#define ZC_RESTRICT __restrict__
ZC_FN uint64_t zc_mulhi64(uint64_t a, uint64_t b)
{
#if defined(__CUDA_ARCH__)
    return __umul64hi(a, b);
#else
    return (uint64_t)(((unsigned __int128)a * b) >> 64);
#endif
}

#else
#define ZC_TARGET_HOST 1
#include <math.h>
#include <stdint.h>
#define ZC_FN static inline
#define ZC_KERNEL
#define ZC_GLOBAL
#define ZC_LOCAL
#define ZC_CONSTANT static const
#define ZC_RESTRICT restrict
ZC_FN uint64_t zc_mulhi64(uint64_t a, uint64_t b) { return (uint64_t)(((unsigned __int128)a * b) >> 64); }
#endif

ZC_FN uint32_t zc_mulhi32(uint32_t a, uint32_t b) { return (uint32_t)(((uint64_t)a * b) >> 32); }

#endif
