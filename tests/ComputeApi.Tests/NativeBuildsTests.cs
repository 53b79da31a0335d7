using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CloudApp.ComputeApi.Tests;

/// <summary>
/// The vectors the kernels use follow the processor and the runtime's switch. ./test.sh runs the kernel tests a
/// second time with <c>DOTNET_EnableAVX512=0</c>, so the AVX2 paths run on an AVX-512 processor too: this proves the
/// switch took effect in that run. (The native builds' own choice runs only in native code; the container tests
/// run it.)
/// </summary>
public sealed class NativeBuildsTests
{
    [Fact]
    public void TheKernelsUseTheVectorsTheProcessorAndTheRuntimeSwitchAllow()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_EnableAVX512") == "0")
        {
            Assert.False(Avx512F.IsSupported);
            Assert.Equal(Vector256.IsHardwareAccelerated ? 256 : 128, NativeBuilds.VectorWidth);
        }
        else
        {
            // Linux lists avx512f only where it also saves the registers, as the runtime requires.
            var flags = File.Exists("/proc/cpuinfo")
                ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal))?.Split(' ') ?? []
                : [];
            Assert.Equal(flags.Contains("avx512f"), Avx512F.IsSupported);
        }
    }
}
