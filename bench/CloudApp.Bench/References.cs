using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using CloudApp.ComputeApi.Kernels;

namespace CloudApp.Bench;

/// <summary>
/// The native references, one thread each, at their best in-memory speed: primesieve, OpenBLAS dgemm (through
/// numpy, on the kernel's own matrices, timed inside Python so start-up and loading are not counted) and
/// <c>openssl speed -evp sha256</c> on 1 MiB blocks.
/// </summary>
public static class References
{
    // Debian's numpy is installed for Debian's Python, which is not always the first python3 on PATH.
    private const string Python = "/usr/bin/python3";

    public sealed record Timed(double Seconds, double Check);

    /// <summary>pi(n) by primesieve: its own timing, and the count.</summary>
    public static async Task<Timed> PrimesieveAsync(long n)
    {
        var run = (await ExternalProgram.RunAsync("primesieve", [n.ToString(CultureInfo.InvariantCulture), "--threads=1", "--time", "--no-status"], External.Timeout)).EnsureSuccess();
        return new Timed(Field(run.Output, "Seconds:"), Field(run.Output, "Primes:"));
    }

    /// <summary>
    /// The matmul kernel's A and B of order n as raw little-endian doubles (read with numpy.fromfile), written once
    /// for all the runs of a size and deleted with this object.
    /// </summary>
    public sealed class MatMulInputs : IDisposable
    {
        private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("cloudapp-bench-");

        public MatMulInputs(int n)
        {
            N = n;
            A = Write("a.f64", MatMulKernel.SeedA);
            B = Write("b.f64", MatMulKernel.SeedB);
        }

        public int N { get; }
        public string A { get; }
        public string B { get; }

        private string Write(string name, ulong seed)
        {
            var file = Path.Combine(_directory.FullName, name);
            File.WriteAllBytes(file, MemoryMarshal.AsBytes(MatMulKernel.Generate(N, seed, KernelContext.None).AsSpan()).ToArray());
            return file;
        }

        public void Dispose() => _directory.Delete(recursive: true);
    }

    /// <summary>The same product the matmul kernel computes, by OpenBLAS; the fastest of a few runs, and the sum of C.</summary>
    public static async Task<Timed> DgemmAsync(MatMulInputs inputs, int runs)
    {
        var result = await NumpyDgemmAsync(inputs, runs, await BestCoreType.Value);
        return new Timed(result.GetProperty("seconds").GetDouble(), result.GetProperty("sum").GetDouble());
    }

    private static async Task<JsonElement> NumpyDgemmAsync(MatMulInputs inputs, int runs, string? coreType)
    {
        var environment = new Dictionary<string, string?>(NumpyEnvironment) { ["OPENBLAS_CORETYPE"] = coreType };
        var numpy = (await ExternalProgram.RunAsync(Python,
            ["-c", NumpyDgemm, inputs.A, inputs.B, inputs.N.ToString(CultureInfo.InvariantCulture), runs.ToString(CultureInfo.InvariantCulture)],
            External.Timeout, environment)).EnsureSuccess();
        return JsonSerializer.Deserialize<JsonElement>(numpy.Output);
    }

    /// <summary>
    /// OpenBLAS picks its kernels from the processor's model, and falls back to old generic ones (Prescott: SSE3)
    /// on a model it does not know, as virtual machines often report: 4-5 times slower on an AVX-512 processor.
    /// The reference is OpenBLAS at its best, so each kernel family the processor may run is tried on n = 512 and
    /// the fastest is used (a family whose instructions the processor lacks fails and is skipped).
    /// </summary>
    private static readonly Lazy<Task<string?>> BestCoreType = new(async () =>
    {
        using var inputs = new MatMulInputs(512);
        var timings = new List<(string? Core, double Seconds)>();
        foreach (var core in new string?[] { null, "Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids" })
        {
            try
            {
                var result = await NumpyDgemmAsync(inputs, runs: 5, core);
                timings.Add((core, result.GetProperty("seconds").GetDouble()));
            }
            catch (InvalidOperationException)
            {
                // Instructions this processor does not have.
            }
        }
        var best = timings.MinBy(t => t.Seconds);
        Console.WriteLine($"  OpenBLAS kernels: {string.Join(", ", timings.Select(t => $"{t.Core ?? "detected"} {t.Seconds * 1000:0.0} ms"))} at n={inputs.N}; using {best.Core ?? "the detected ones"}");
        return best.Core;
    });

    /// <summary>SHA-256 throughput of <c>openssl speed -evp sha256</c> on 1 MiB blocks, in bytes per second.</summary>
    public static async Task<double> OpensslSpeedAsync(int seconds)
    {
        var run = (await ExternalProgram.RunAsync("openssl",
            ["speed", "-evp", "sha256", "-bytes", "1048576", "-seconds", seconds.ToString(CultureInfo.InvariantCulture), "-mr"], External.Timeout)).EnsureSuccess();
        // Machine-readable result: "+F:<n>:sha256:<bytes per second>".
        var line = run.Output.Split('\n').Single(l => l.StartsWith("+F:", StringComparison.Ordinal));
        return double.Parse(line[(line.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);
    }

    private static double Field(string output, string label) =>
        double.Parse(output.Split('\n').Single(l => l.StartsWith(label, StringComparison.Ordinal))[label.Length..].Trim(), CultureInfo.InvariantCulture);

    // One thread for OpenBLAS. OPENBLAS_L2_SIZE, set on some machines to work around old OpenBLAS bugs, would
    // slow the current one: it is removed for this command only. OPENBLAS_CORETYPE is chosen above.
    private static readonly Dictionary<string, string?> NumpyEnvironment = new()
    {
        ["OPENBLAS_NUM_THREADS"] = "1",
        ["OMP_NUM_THREADS"] = "1",
        ["OPENBLAS_L2_SIZE"] = null,
    };

    private const string NumpyDgemm = """
        import json, sys, time
        import numpy as np
        n, runs = int(sys.argv[3]), int(sys.argv[4])
        a = np.fromfile(sys.argv[1], dtype='<f8').reshape(n, n)
        b = np.fromfile(sys.argv[2], dtype='<f8').reshape(n, n)
        c = np.dot(a, b)  # warm-up: loads the library, touches the pages
        best = float('inf')
        for _ in range(runs):
            start = time.perf_counter()
            c = np.dot(a, b)
            best = min(best, time.perf_counter() - start)
        print(json.dumps({"seconds": best, "sum": float(c.sum())}))
        """;
}
