using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CloudApp.ComputeApi.Tests;

/// <summary>
/// How the published linux-x64 service decides whether to replace itself with its AVX-512 build: from the flags
/// Linux lists for the processor. (The switch itself runs only in native code; the container tests run it.)
/// </summary>
public sealed class NativeBuildsTests
{
    private const string Avx512Processor = """
        processor	: 0
        model name	: Intel(R) Xeon(R) Platinum 8581C CPU @ 2.10GHz
        flags		: fpu sse sse2 ssse3 sse4_1 sse4_2 avx avx2 fma bmi1 bmi2 avx512f avx512dq avx512cd avx512bw avx512vl avx512_vnni
        bugs		: spectre_v1

        processor	: 1
        flags		: fpu sse sse2
        """;

    /// <summary>
    /// ./test.sh runs the kernel tests a second time with the runtime's switch set, so the AVX2 paths run on an
    /// AVX-512 processor too: this proves the switch took effect in that run.
    /// </summary>
    [Fact]
    public void TheKernelsUseTheVectorsTheProcessorAndTheRuntimeSwitchAllow()
    {
        if (Environment.GetEnvironmentVariable(NativeBuilds.DisableAvx512Variable) == "0")
        {
            Assert.False(Avx512F.IsSupported);
            Assert.Equal(Vector256.IsHardwareAccelerated ? 256 : 128, NativeBuilds.VectorWidth);
        }
        else
        {
            var listed = File.Exists("/proc/cpuinfo") && NativeBuilds.HasFeatures(File.ReadAllText("/proc/cpuinfo"), ["avx512f"]);
            Assert.Equal(listed, Avx512F.IsSupported);
        }
    }

    [Fact]
    public void AProcessorWithEveryAvx512FeatureOfX86_64V4QualifiesFromItsFirstFlagsLine() =>
        Assert.True(NativeBuilds.HasFeatures(Avx512Processor, NativeBuilds.Avx512Features));

    [Theory]
    [InlineData("avx512vl")]
    [InlineData("avx512bw")]
    public void OneMissingFeatureKeepsTheAvx2Build(string missing)
    {
        var cpuInfo = Avx512Processor.Replace(" " + missing, "", StringComparison.Ordinal);
        Assert.False(NativeBuilds.HasFeatures(cpuInfo, NativeBuilds.Avx512Features));
    }

    [Fact]
    public void AFeatureIsAWholeFlagNotAPrefix()
    {
        // avx512_vnni contains "avx512", and avx512fp16 starts with avx512f: neither is avx512f.
        var cpuInfo = "flags\t\t: avx2 avx512fp16 avx512dq avx512cd avx512bw avx512vl avx512_vnni\n";
        Assert.False(NativeBuilds.HasFeatures(cpuInfo, NativeBuilds.Avx512Features));
    }

    [Theory]
    [InlineData("")]
    [InlineData("processor\t: 0\nFeatures\t: fp asimd sve\n")]
    public void NoFlagsLineMeansNoSwitch(string cpuInfo) =>
        Assert.False(NativeBuilds.HasFeatures(cpuInfo, NativeBuilds.Avx512Features));
}
