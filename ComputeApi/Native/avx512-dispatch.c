/*
 * Linked into the x86-64-v3 (AVX2) Native AOT build of ComputeApi only; see ComputeApi.csproj.
 *
 * Native code fixes its instruction set when it is compiled, so the image carries a second build for x86-64-v4
 * (AVX-512) beside the entry point. This constructor runs before the .NET runtime starts (ELF .init_array): where
 * the processor and the kernel support every AVX-512 part of x86-64-v4 it replaces the process with that build
 * (execv: same pid, arguments and environment), so only one runtime ever starts. DOTNET_EnableAVX512=0, the
 * runtime's own switch, keeps this build. argv[0] stays the entry point's path, so ps shows /app/ComputeApi;
 * /proc/<pid>/exe names the build that runs.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef AVX512_BUILD_NAME
#error "AVX512_BUILD_NAME must name the AVX-512 build's file, beside this executable"
#endif

/* __builtin_cpu_supports reports a feature only where the OS also saves its registers (XCR0). */
static int has_x86_64_v4(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl");
}

/* glibc passes argc, argv and envp to .init_array functions. */
__attribute__((constructor)) static void use_the_widest_vectors(int argc, char **argv, char **envp)
{
    (void)argc;
    (void)envp;
    const char *avx512 = getenv("DOTNET_EnableAVX512");
    if ((avx512 != NULL && strcmp(avx512, "0") == 0) || !has_x86_64_v4())
        return;

    char self[PATH_MAX];
    ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
    if (length <= 0)
        return;
    self[length] = '\0';
    char *slash = strrchr(self, '/');
    if (slash == NULL)
        return;

    char build[PATH_MAX];
    if (snprintf(build, sizeof build, "%.*s/%s", (int)(slash - self), self, AVX512_BUILD_NAME) >= (int)sizeof build ||
        access(build, X_OK) != 0)
        return;
    execv(build, argv);
    /* Only a failed execv returns: this build still works, with narrower vectors. */
    fprintf(stderr, "Could not start %s; running the x86-64-v3 build.\n", build);
}
