using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CloudApp.ComputeApi.Kernels;

/// <summary>
/// Multiplies two n x n matrices of doubles generated from fixed seeds and returns the sum of the product's
/// elements. The product is computed the way optimized BLAS libraries do it: blocked for the caches,
/// operands packed into contiguous panels, and a 6 x 8 register-tiled micro-kernel using fused multiply-add.
/// </summary>
public sealed class MatMulKernel : IComputeKernel
{
    public const string KernelName = "matmul";

    internal const ulong SeedA = 0xA11CE;
    internal const ulong SeedB = 0xB0B;

    // Micro-tile: 6 rows x 8 columns = 12 vector accumulators, which with two B vectors and one broadcast
    // of A fits the 16 vector registers of AVX2.
    private const int MR = 6;
    private const int NR = 8;
    // Cache blocking: an MC x KC block of A (~150 KB) stays in L2 while it meets every KC x NR panel of B (16 KB, L1).
    private const int KC = 256;
    private const int MC = 96;
    private const int NC = 1024;

    public string Name => KernelName;
    public string Description => "Multiplies two seeded n x n double matrices (blocked, packed, FMA micro-kernel) and returns the sum of the product.";
    public string SizeMeaning => "matrix order n";
    public string WorkUnit => "flop";
    public long HardMaxSize => 4096;

    public KernelOutput Run(long size, KernelContext context)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, HardMaxSize);
        var n = (int)size;
        var a = Generate(n, SeedA, context);
        var b = Generate(n, SeedB, context);
        var c = new double[(long)n * n];
        Multiply(a, b, c, n, context);
        return new KernelOutput(Sum(c), 2L * n * n * n);
    }

    /// <summary>Row-major n x n matrix whose element i is a pure function of (seed, i), uniform in [-1, 1).</summary>
    internal static double[] Generate(int n, ulong seed, KernelContext context)
    {
        var m = GC.AllocateUninitializedArray<double>(n * n);
        for (var row = 0; row < n; row++)
        {
            if ((row & 63) == 0) context.ThrowIfCancellationRequested();
            for (int i = row * n, end = i + n; i < end; i++)
            {
                m[i] = ((SplitMix64(seed, (ulong)i) >> 11) * (1.0 / (1UL << 53)) * 2.0) - 1.0;
            }
        }
        return m;
    }

    internal static ulong SplitMix64(ulong seed, ulong index)
    {
        var z = seed + ((index + 1) * 0x9E3779B97F4A7C15UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    internal static double Sum(ReadOnlySpan<double> values)
    {
        var sum = 0.0;
        foreach (var v in values) sum += v;
        return sum;
    }

    /// <summary>C += A * B for row-major n x n matrices.</summary>
    internal static void Multiply(double[] a, double[] b, double[] c, int n, KernelContext context)
    {
        var packedA = GC.AllocateUninitializedArray<double>(MC * KC);
        var packedB = GC.AllocateUninitializedArray<double>(KC * RoundUp(Math.Min(NC, n), NR));
        Span<double> edge = stackalloc double[MR * NR];

        for (var jc = 0; jc < n; jc += NC)
        {
            var nc = Math.Min(NC, n - jc);
            for (var pc = 0; pc < n; pc += KC)
            {
                var kc = Math.Min(KC, n - pc);
                PackB(b, n, pc, jc, kc, nc, packedB);
                for (var ic = 0; ic < n; ic += MC)
                {
                    context.ThrowIfCancellationRequested();
                    var mc = Math.Min(MC, n - ic);
                    PackA(a, n, ic, pc, mc, kc, packedA);
                    for (var jr = 0; jr < nc; jr += NR)
                    {
                        var nr = Math.Min(NR, nc - jr);
                        ref var bPanel = ref packedB[jr * kc];
                        for (var ir = 0; ir < mc; ir += MR)
                        {
                            var mr = Math.Min(MR, mc - ir);
                            ref var aPanel = ref packedA[ir * kc];
                            if (mr == MR && nr == NR)
                            {
                                MicroKernel(kc, ref aPanel, ref bPanel, ref c[((ic + ir) * n) + jc + jr], n);
                            }
                            else
                            {
                                // Partial tile at the matrix edge: compute a full tile into scratch, add the valid part.
                                edge.Clear();
                                MicroKernel(kc, ref aPanel, ref bPanel, ref edge[0], NR);
                                for (var i = 0; i < mr; i++)
                                {
                                    for (var j = 0; j < nr; j++)
                                    {
                                        c[((ic + ir + i) * n) + jc + jr + j] += edge[(i * NR) + j];
                                    }
                                }
                            }
                        }
                    }
                    context.ReportWork(2L * mc * kc * nc);
                }
            }
        }
    }

    /// <summary>Copies the kc x nc block of B at (pc, jc) into panels of NR columns, k-major, zero-padded.</summary>
    private static void PackB(double[] b, int n, int pc, int jc, int kc, int nc, double[] packed)
    {
        var dst = 0;
        for (var jr = 0; jr < nc; jr += NR)
        {
            var nr = Math.Min(NR, nc - jr);
            for (var k = 0; k < kc; k++)
            {
                var src = ((pc + k) * n) + jc + jr;
                if (nr == NR)
                {
                    b.AsSpan(src, NR).CopyTo(packed.AsSpan(dst, NR));
                }
                else
                {
                    b.AsSpan(src, nr).CopyTo(packed.AsSpan(dst, nr));
                    packed.AsSpan(dst + nr, NR - nr).Clear();
                }
                dst += NR;
            }
        }
    }

    /// <summary>Copies the mc x kc block of A at (ic, pc) into panels of MR rows, k-major, zero-padded.</summary>
    private static void PackA(double[] a, int n, int ic, int pc, int mc, int kc, double[] packed)
    {
        var dst = 0;
        for (var ir = 0; ir < mc; ir += MR)
        {
            var mr = Math.Min(MR, mc - ir);
            for (var k = 0; k < kc; k++)
            {
                var col = pc + k;
                for (var i = 0; i < MR; i++)
                {
                    packed[dst++] = i < mr ? a[((ic + ir + i) * n) + col] : 0.0;
                }
            }
        }
    }

    /// <summary>C[0..6, 0..8] += Apanel (6 x kc) * Bpanel (kc x 8), with C's rows <paramref name="ldc"/> apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MicroKernel(int kc, ref double a, ref double b, ref double c, int ldc)
    {
        Vector256<double> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<double> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;

        for (nuint k = 0, ka = 0, kb = 0; k < (nuint)kc; k++, ka += MR, kb += NR)
        {
            var b0 = Vector256.LoadUnsafe(ref b, kb);
            var b1 = Vector256.LoadUnsafe(ref b, kb + 4);

            var a0 = Vector256.Create(Unsafe.Add(ref a, ka));
            c00 = Vector256.MultiplyAddEstimate(a0, b0, c00);
            c01 = Vector256.MultiplyAddEstimate(a0, b1, c01);
            var a1 = Vector256.Create(Unsafe.Add(ref a, ka + 1));
            c10 = Vector256.MultiplyAddEstimate(a1, b0, c10);
            c11 = Vector256.MultiplyAddEstimate(a1, b1, c11);
            var a2 = Vector256.Create(Unsafe.Add(ref a, ka + 2));
            c20 = Vector256.MultiplyAddEstimate(a2, b0, c20);
            c21 = Vector256.MultiplyAddEstimate(a2, b1, c21);
            var a3 = Vector256.Create(Unsafe.Add(ref a, ka + 3));
            c30 = Vector256.MultiplyAddEstimate(a3, b0, c30);
            c31 = Vector256.MultiplyAddEstimate(a3, b1, c31);
            var a4 = Vector256.Create(Unsafe.Add(ref a, ka + 4));
            c40 = Vector256.MultiplyAddEstimate(a4, b0, c40);
            c41 = Vector256.MultiplyAddEstimate(a4, b1, c41);
            var a5 = Vector256.Create(Unsafe.Add(ref a, ka + 5));
            c50 = Vector256.MultiplyAddEstimate(a5, b0, c50);
            c51 = Vector256.MultiplyAddEstimate(a5, b1, c51);
        }

        AddRow(ref c, 0, ldc, c00, c01);
        AddRow(ref c, 1, ldc, c10, c11);
        AddRow(ref c, 2, ldc, c20, c21);
        AddRow(ref c, 3, ldc, c30, c31);
        AddRow(ref c, 4, ldc, c40, c41);
        AddRow(ref c, 5, ldc, c50, c51);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRow(ref double c, int row, int ldc, Vector256<double> left, Vector256<double> right)
    {
        var offset = (nuint)(row * ldc);
        (Vector256.LoadUnsafe(ref c, offset) + left).StoreUnsafe(ref c, offset);
        (Vector256.LoadUnsafe(ref c, offset + 4) + right).StoreUnsafe(ref c, offset + 4);
    }

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;
}
