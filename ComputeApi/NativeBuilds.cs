using System.Runtime.Intrinsics;

namespace CloudApp.ComputeApi;

/// <summary>
/// Which vectors the kernels use. Published for linux-x64 the service is compiled ahead of time twice (see
/// ComputeApi.csproj), for x86-64-v3 (AVX2) and for x86-64-v4 (AVX-512), and the first starts the second where the
/// processor has AVX-512 (Native/avx512-dispatch.c) unless <c>DOTNET_EnableAVX512=0</c>, the runtime's own switch,
/// says otherwise; under the JIT the runtime picks the vectors itself.
/// </summary>
internal static class NativeBuilds
{
    /// <summary>Vector width, in bits, that the kernels' code uses in this process.</summary>
    public static int VectorWidth =>
        Vector512.IsHardwareAccelerated ? 512 : Vector256.IsHardwareAccelerated ? 256 : Vector128.IsHardwareAccelerated ? 128 : 64;
}
