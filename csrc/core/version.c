/* Version and build information; the build fills in the ZC_BUILD_* strings. */
#include "internal.h"

#define ZC_STR_(x) #x
#define ZC_STR(x) ZC_STR_(x)

#ifndef ZC_BUILD_FLAGS
#define ZC_BUILD_FLAGS ""
#endif
#ifndef ZC_BUILD_TYPE
#define ZC_BUILD_TYPE ""
#endif
#ifndef ZC_BUILD_BACKENDS
#define ZC_BUILD_BACKENDS "cpu"
#endif
#ifndef ZC_BUILD_SANITIZERS
#define ZC_BUILD_SANITIZERS ""
#endif

#if defined(__clang__)
#define ZC_COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define ZC_COMPILER "gcc " __VERSION__
#else
#define ZC_COMPILER "unknown"
#endif

const char *zc_version(void)
{
    return ZC_STR(ZC_VERSION_MAJOR) "." ZC_STR(ZC_VERSION_MINOR) "." ZC_STR(ZC_VERSION_PATCH);
}

void zc_version_numbers(int *major, int *minor, int *patch)
{
    if (major)
        *major = ZC_VERSION_MAJOR;
    if (minor)
        *minor = ZC_VERSION_MINOR;
    if (patch)
        *patch = ZC_VERSION_PATCH;
}

void zc_build_info_get(zc_build_info *out)
{
    out->version = zc_version();
    out->compiler = ZC_COMPILER;
    out->flags = ZC_BUILD_FLAGS;
    out->build_type = ZC_BUILD_TYPE;
    out->backends = ZC_BUILD_BACKENDS;
    out->sanitizers = ZC_BUILD_SANITIZERS;
}
