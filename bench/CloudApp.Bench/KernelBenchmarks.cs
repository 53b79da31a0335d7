using System.Globalization;
using System.Text.Json;
using CloudApp.ComputeApi.Kernels;

namespace CloudApp.Bench;

/// <summary>
/// Our kernels against the best native code on the same input, one thread each, alternating and repeated in the
/// same run so that the machine's noise hits both sides: primesieve, OpenBLAS dgemm (through numpy), openssl.
/// </summary>
public sealed class KernelBenchmarks(Settings settings, TextWriter log)
{
    // Debian's numpy is installed for Debian's Python, which is not always the first python3 on PATH.
    private const string Python = "/usr/bin/python3";

    public async Task<IReadOnlyList<Row>> RunAsync()
    {
        var rows = new List<Row>();
        foreach (var n in settings.Smoke ? [10_000_000L] : new[] { 1_000_000_000L, 10_000_000_000L })
        {
            rows.Add(await PrimesAsync(n));
        }
        foreach (var n in settings.Smoke ? [64] : new[] { 512, 1024 })
        {
            rows.Add(await MatMulAsync(n));
        }
        rows.Add(await Sha256Async(settings.Smoke ? 4 : 1024));
        return rows;
    }

    private async Task<Row> PrimesAsync(long n)
    {
        var ours = new List<double>();
        var reference = new List<double>();
        long expected = -1;
        for (var i = -1; i < Repetitions(n >= 10_000_000_000 ? 3 : 5); i++)
        {
            long count = 0;
            var seconds = Stats.Seconds(() => count = PrimeCountKernel.CountPrimes(n, KernelContext.None));
            var primesieve = await External.RunAsync("primesieve", [n.ToString(CultureInfo.InvariantCulture), "--threads=1", "--time", "--no-status"]);
            var theirs = Field(primesieve.Output, "Seconds:");
            var theirCount = (long)Field(primesieve.Output, "Primes:");
            if (count != theirCount) throw new InvalidOperationException($"pi({n}): ours {count}, primesieve {theirCount}");
            expected = count;
            if (i < 0) continue; // warm-up: JIT tiers, caches
            ours.Add(n / seconds);
            reference.Add(n / theirs);
            log.WriteLine($"  primes {n:E0}: ours {seconds:0.000} s, primesieve {theirs:0.000} s");
        }
        return Compare("kernels", $"primes n={n:E0}", ours, reference, "numbers/s", "primesieve, 1 thread", 0.20, $"pi = {expected}");
    }

    private async Task<Row> MatMulAsync(int n)
    {
        var a = MatMulKernel.Generate(n, MatMulKernel.SeedA, KernelContext.None);
        var b = MatMulKernel.Generate(n, MatMulKernel.SeedB, KernelContext.None);
        // The same matrices for numpy: raw little-endian doubles, read with numpy.fromfile.
        var directory = Directory.CreateTempSubdirectory("cloudapp-bench-");
        try
        {
            var fileA = Path.Combine(directory.FullName, "a.f64");
            var fileB = Path.Combine(directory.FullName, "b.f64");
            await File.WriteAllBytesAsync(fileA, System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan()).ToArray());
            await File.WriteAllBytesAsync(fileB, System.Runtime.InteropServices.MemoryMarshal.AsBytes(b.AsSpan()).ToArray());
            var flop = 2.0 * n * n * n;
            var ours = new List<double>();
            var reference = new List<double>();
            double ourSum = 0, theirSum = 0;
            for (var i = -1; i < Repetitions(5); i++)
            {
                var c = new double[n * n];
                var seconds = Stats.Seconds(() => MatMulKernel.Multiply(a, b, c, n, KernelContext.None));
                ourSum = MatMulKernel.Sum(c);
                var numpy = await External.RunAsync(Python, ["-c", NumpyDgemm, fileA, fileB, n.ToString(CultureInfo.InvariantCulture)], NumpyEnvironment);
                var result = JsonSerializer.Deserialize<JsonElement>(numpy.Output);
                var theirs = result.GetProperty("seconds").GetDouble();
                theirSum = result.GetProperty("sum").GetDouble();
                if (i < 0) continue;
                ours.Add(flop / seconds);
                reference.Add(flop / theirs);
                log.WriteLine($"  matmul {n}: ours {seconds * 1000:0.0} ms, OpenBLAS {theirs * 1000:0.0} ms");
            }
            if (Math.Abs(ourSum - theirSum) > 1e-6 * n * n)
            {
                throw new InvalidOperationException($"matmul {n}: sum of C differs (ours {ourSum}, OpenBLAS {theirSum})");
            }
            return Compare("kernels", $"matmul n={n}", ours, reference, "FLOP/s", "OpenBLAS dgemm, 1 thread", 0.25, $"sum of C = {ourSum:G10}");
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private async Task<Row> Sha256Async(long mib)
    {
        var file = Path.Combine(Path.GetTempPath(), $"cloudapp-bench-{Guid.NewGuid():N}.bin");
        try
        {
            await using (var stream = File.Create(file)) Sha256Kernel.WriteData(mib, stream);
            var kernel = new Sha256Kernel();
            var bytes = mib * 1024.0 * 1024.0;
            var ours = new List<double>();
            var reference = new List<double>();
            for (var i = -1; i < Repetitions(5); i++)
            {
                string digest = "";
                var seconds = Stats.Seconds(() => digest = (string)kernel.Run(mib, KernelContext.None).Result);
                // The file is in the page cache after the first read; openssl's time includes its start (milliseconds).
                var openssl = await External.RunAsync("openssl", ["dgst", "-sha256", "-r", file]);
                var theirs = openssl.Output.Split(' ')[0];
                if (theirs != digest) throw new InvalidOperationException($"sha256 {mib} MiB: ours {digest}, openssl {theirs}");
                if (i < 0) continue;
                ours.Add(bytes / seconds);
                reference.Add(bytes / openssl.Seconds);
                log.WriteLine($"  sha256 {mib} MiB: ours {seconds:0.000} s, openssl {openssl.Seconds:0.000} s");
            }
            return Compare("kernels", $"sha256 {mib} MiB", ours, reference, "bytes/s", "openssl dgst", 0.90, "same digest");
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static Row Compare(string section, string name, List<double> ours, List<double> reference, string unit,
        string against, double target, string detail)
    {
        // Ratio of each pair measured back to back, then the median: drift of the machine cancels within a pair.
        var ratios = Stats.Of(ours.Zip(reference, (o, r) => o / r));
        var mine = Stats.Of(ours);
        var theirs = Stats.Of(reference);
        return new Row(section, name, $"ours / {against}", ratios.Median, "x", ratios.Spread, $">= {target:0.00}x",
            ratios.Median >= target,
            $"ours {mine.Median:G4} {unit} (±{mine.Spread:P0}), reference {theirs.Median:G4} {unit} (±{theirs.Spread:P0}); {detail}");
    }

    private int Repetitions(int full) => settings.Smoke ? 1 : full;

    private static double Field(string output, string label) =>
        double.Parse(output.Split('\n').Single(l => l.StartsWith(label, StringComparison.Ordinal))[label.Length..].Trim(), CultureInfo.InvariantCulture);

    // One thread for OpenBLAS. OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, set on some machines to work around old
    // OpenBLAS bugs, would slow the current one: they are removed for this command only.
    private static readonly Dictionary<string, string?> NumpyEnvironment = new()
    {
        ["OPENBLAS_NUM_THREADS"] = "1",
        ["OMP_NUM_THREADS"] = "1",
        ["OPENBLAS_CORETYPE"] = null,
        ["OPENBLAS_L2_SIZE"] = null,
    };

    private const string NumpyDgemm = """
        import json, sys, time
        import numpy as np
        n = int(sys.argv[3])
        a = np.fromfile(sys.argv[1], dtype='<f8').reshape(n, n)
        b = np.fromfile(sys.argv[2], dtype='<f8').reshape(n, n)
        np.dot(a, b)  # warm-up: loads the library, touches the pages
        start = time.perf_counter()
        c = np.dot(a, b)
        seconds = time.perf_counter() - start
        print(json.dumps({"seconds": seconds, "sum": float(c.sum())}))
        """;
}
