using CloudApp.ComputeApi.Kernels;

namespace CloudApp.Bench;

/// <summary>
/// Our kernels against the best native code on the same input, one thread each, alternating and repeated in the
/// same run so that the machine's noise hits both sides: primesieve, OpenBLAS dgemm (through numpy), openssl.
/// </summary>
public sealed class KernelBenchmarks(Settings settings, TextWriter log)
{
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
            var primesieve = await References.PrimesieveAsync(n);
            if (count != (long)primesieve.Check) throw new InvalidOperationException($"pi({n}): ours {count}, primesieve {primesieve.Check}");
            expected = count;
            if (i < 0) continue; // warm-up: JIT tiers, caches
            ours.Add(n / seconds);
            reference.Add(n / primesieve.Seconds);
            log.WriteLine($"  primes {n:E0}: ours {seconds:0.000} s, primesieve {primesieve.Seconds:0.000} s");
        }
        return Row.Ratio("kernels", $"primes n={n:E0}", ours, reference, "numbers/s", "primesieve, 1 thread", 0.20, $"pi = {expected}");
    }

    private async Task<Row> MatMulAsync(int n)
    {
        var a = MatMulKernel.Generate(n, MatMulKernel.SeedA, KernelContext.None);
        var b = MatMulKernel.Generate(n, MatMulKernel.SeedB, KernelContext.None);
        using var inputs = new References.MatMulInputs(n);
        var flop = 2.0 * n * n * n;
        var ours = new List<double>();
        var reference = new List<double>();
        double ourSum = 0, theirSum = 0;
        // One C for every repetition: the service keeps its working memory between jobs, and numpy's allocator
        // reuses freed memory too; a fresh array would add the GC's zeroing and a page fault per 4 KiB to each run.
        var c = new double[n * n];
        for (var i = -1; i < Repetitions(5); i++)
        {
            var seconds = Stats.Seconds(() => MatMulKernel.Multiply(a, b, c, n, KernelContext.None));
            ourSum = MatMulKernel.Sum(c);
            var dgemm = await References.DgemmAsync(inputs, runs: 1);
            theirSum = dgemm.Check;
            if (i < 0) continue;
            ours.Add(flop / seconds);
            reference.Add(flop / dgemm.Seconds);
            log.WriteLine($"  matmul {n}: ours {seconds * 1000:0.0} ms, OpenBLAS {dgemm.Seconds * 1000:0.0} ms");
        }
        if (Math.Abs(ourSum - theirSum) > 1e-6 * n * n)
        {
            throw new InvalidOperationException($"matmul {n}: sum of C differs (ours {ourSum}, OpenBLAS {theirSum})");
        }
        return Row.Ratio("kernels", $"matmul n={n}", ours, reference, "FLOP/s", "OpenBLAS dgemm, 1 thread", 0.25, $"sum of C = {ourSum:G10}");
    }

    private async Task<Row> Sha256Async(long mib)
    {
        var kernel = new Sha256Kernel();
        var bytes = mib * 1024.0 * 1024.0;
        var ours = new List<double>();
        var reference = new List<double>();
        for (var i = -1; i < Repetitions(5); i++)
        {
            var seconds = Stats.Seconds(() => kernel.Run(mib, KernelContext.None));
            var openssl = await References.OpensslSpeedAsync(settings.Smoke ? 1 : 3);
            if (i < 0) continue;
            ours.Add(bytes / seconds);
            reference.Add(openssl);
            log.WriteLine($"  sha256 {mib} MiB: ours {bytes / seconds / 1e9:0.000} GB/s, openssl speed {openssl / 1e9:0.000} GB/s");
        }
        return Row.Ratio("kernels", $"sha256 {mib} MiB", ours, reference, "bytes/s", "openssl speed -evp sha256, 1 MiB blocks", 0.90,
            "ours generates its data as it hashes");
    }

    private int Repetitions(int full) => settings.Smoke ? 1 : full;
}
