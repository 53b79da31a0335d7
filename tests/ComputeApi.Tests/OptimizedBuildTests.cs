using System.Diagnostics;
using System.Reflection;
using CloudApp.ComputeApi.Kernels;

namespace CloudApp.ComputeApi.Tests;

/// <summary>
/// Unoptimized, the kernels run about 13 times slower (pi(10^9): 1.8 s against 0.14 s), so every configuration,
/// the local stack's Debug build included, compiles ComputeApi optimized.
/// </summary>
public class OptimizedBuildTests
{
    [Fact]
    public void TheKernelsRunAsOptimizedCode()
    {
        var debuggable = typeof(PrimeCountKernel).Assembly.GetCustomAttribute<DebuggableAttribute>();

        Assert.False(debuggable?.IsJITOptimizerDisabled ?? false, "the JIT is told not to optimize the kernels");
    }

    [Theory]
    [InlineData("Debug")]
    [InlineData("Release")]
    public async Task EveryConfigurationCompilesTheServiceOptimized(string configuration)
    {
        var result = await ExternalProgram.RunAsync("dotnet",
            ["msbuild", Path.Combine("ComputeApi", "ComputeApi.csproj"), "-getProperty:Optimize", $"-p:Configuration={configuration}"],
            TimeSpan.FromMinutes(2), workingDirectory: RepositoryRoot.Path);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("true", result.Output.Trim());
    }
}
