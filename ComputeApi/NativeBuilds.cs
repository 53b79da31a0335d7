using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CloudApp.ComputeApi;

/// <summary>
/// Picks the native build that uses the widest vectors the processor has. Published for linux-x64 the service is
/// compiled ahead of time twice (see ComputeApi.csproj): the entry point for x86-64-v3 (AVX2) and, beside it, a
/// build for x86-64-v4 (AVX-512). Native code fixes its instruction set when it is compiled, so on a processor with
/// AVX-512 the entry point replaces itself with the other build (<c>execv</c>: same process id, arguments and
/// environment) before anything has started, unless <c>DOTNET_EnableAVX512=0</c> asks the runtime, JIT or not, to
/// leave AVX-512 unused. Under the JIT (tests, <c>dotnet run</c>, other platforms) nothing
/// happens: the JIT already compiles for the processor it runs on.
/// </summary>
internal static partial class NativeBuilds
{
    /// <summary>The processor features of x86-64-v4 beyond v3, as Linux names them in /proc/cpuinfo.</summary>
    internal static readonly string[] Avx512Features = ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"];

    /// <summary>Vector width, in bits, that the kernels' code uses in this process.</summary>
    public static int VectorWidth =>
        Vector512.IsHardwareAccelerated ? 512 : Vector256.IsHardwareAccelerated ? 256 : Vector128.IsHardwareAccelerated ? 128 : 64;

    /// <summary>
    /// The runtime's own switch to keep AVX-512 unused (where it slows the processor's clock): 0 keeps the v3 build.
    /// .NET 10 reads this name; the JIT ignores the <c>DOTNET_EnableAVX512F</c> of .NET 8 and 9.
    /// </summary>
    internal const string DisableAvx512Variable = "DOTNET_EnableAVX512";

    public static void UseTheWidestVectors(string[] args)
    {
        // Under the JIT, or already compiled with AVX-512 (this folds to a constant in native code).
        if (RuntimeFeature.IsDynamicCodeSupported || Avx512F.IsSupported) return;
        if (Environment.GetEnvironmentVariable(DisableAvx512Variable) == "0") return;

        var name = typeof(NativeBuilds).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "Avx512BuildName")?.Value;
        if (name is null || Environment.ProcessPath is not { } self || Path.GetDirectoryName(self) is not { } directory) return;
        var path = Path.Combine(directory, name);
        if (!File.Exists(path) || !HasFeatures(ReadCpuInfo(), Avx512Features)) return;

        // argv[0] stays the entrypoint's path, so ps and lsns still show /app/ComputeApi; /proc/<pid>/exe shows which build runs.
        Execv(path, [self, .. args, null]);
        // Only a failed execv returns: this build still works, with narrower vectors.
        Console.Error.WriteLine($"Could not start {path} (errno {Marshal.GetLastPInvokeError()}); running the x86-64-v3 build.");
    }

    /// <summary>
    /// Whether the first processor's <c>flags</c> line lists every feature. Linux lists AVX-512 only where the
    /// kernel also saves its registers, which is what the AVX-512 build's own start-up check requires.
    /// </summary>
    internal static bool HasFeatures(string cpuInfo, IEnumerable<string> features)
    {
        var flags = cpuInfo.Split('\n')
            .Where(line => line.StartsWith("flags", StringComparison.Ordinal) && line.Contains(':', StringComparison.Ordinal))
            .Select(line => line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .FirstOrDefault();
        return flags is not null && features.All(flags.Contains);
    }

    private static string ReadCpuInfo()
    {
        try
        {
            return File.ReadAllText("/proc/cpuinfo");
        }
        catch (IOException)
        {
            return "";
        }
    }

    [LibraryImport("libc", EntryPoint = "execv", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Execv(string path, string?[] argv);
}
