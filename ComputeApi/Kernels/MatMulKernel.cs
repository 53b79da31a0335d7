using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CloudApp.ComputeApi.Kernels;

/// <summary>
/// Multiplies two n x n matrices of doubles generated from fixed seeds and returns the sum of the product's
/// elements. The product is computed the way optimized BLAS libraries do it: blocked for the caches,
/// operands packed into contiguous panels, and a register-tiled micro-kernel using fused multiply-add:
/// 12 x 16 with 512-bit vectors where the processor has them (AVX-512), 6 x 8 with 256-bit vectors otherwise.
/// </summary>
public sealed class MatMulKernel(ScratchMemory scratch) : IComputeKernel
{
    /// <summary>A kernel whose working memory comes from <see cref="ScratchMemory.Shared"/>.</summary>
    public MatMulKernel()
        : this(ScratchMemory.Shared)
    {
    }

    public const string KernelName = "matmul";

    internal const ulong SeedA = 0xA11CE;
    internal const ulong SeedB = 0xB0B;

    public string Name => KernelName;
    public string Description => "Multiplies two seeded n x n double matrices (blocked, packed, FMA micro-kernel) and returns the sum of the product.";
    public string SizeMeaning => "matrix order n";
    public long HardMaxSize => 4096;

    /// <summary>Up to n = 64: half a million floating-point operations, some 20 µs.</summary>
    public long InlineMaxSize => 64;
    public KernelLimits DefaultLimits => new() { DefaultSize = 256, MaxSize = 2048 };
    public string ResultMeaning => "the sum of the product's elements (a number)";
    public string WorkUnit => "flop";

    public KernelOutput Run(long size, KernelContext context)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, HardMaxSize);
        var n = (int)size;
        // A and B are never stored: the packing generates each element where the micro-kernel reads it, so the job
        // neither writes nor reads back 2 n^2 doubles. C lives in memory reused from the previous job (see
        // ScratchMemory): no page faults, no GC.
        using var product = scratch.Rent((long)n * n);
        var c = product.Slice(0, n * n);
        Multiply(new Seeded(SeedA), new Seeded(SeedB), c, n, context, scratch);
        return new KernelOutput(Sum(c), 2L * n * n * n);
    }

    /// <summary>Row-major n x n matrix whose element i is a pure function of (seed, i), uniform in [-1, 1).</summary>
    internal static double[] Generate(int n, ulong seed, KernelContext context)
    {
        var m = GC.AllocateUninitializedArray<double>(n * n);
        for (var row = 0; row < n; row++)
        {
            if ((row & 63) == 0) context.ThrowIfCancellationRequested();
            GenerateRange(m.AsSpan(row * n, n), seed, (ulong)(row * n));
        }
        return m;
    }

    /// <summary>Fills <paramref name="destination"/> with the elements <paramref name="first"/>, first + 1, ... of the seeded sequence.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GenerateRange(Span<double> destination, ulong seed, ulong first)
    {
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            // Eight elements at a time, bit for bit the same as the scalar formula below: the 53-bit integer
            // converts to double exactly, and the scaling by powers of two is exact too.
            var golden = Vector512.Create(0x9E3779B97F4A7C15UL);
            var index = Vector512.Create(first + 1) + Vector512.Create(0UL, 1, 2, 3, 4, 5, 6, 7);
            var seeds = Vector512.Create(seed);
            var eight = Vector512.Create(8UL);
            var scale = Vector512.Create(2.0 / (1UL << 53));
            var one = Vector512.Create(1.0);
            ref var d = ref MemoryMarshal.GetReference(destination);
            for (; i + 8 <= destination.Length; i += 8)
            {
                var z = seeds + (index * golden);
                z = (z ^ (z >>> 30)) * Vector512.Create(0xBF58476D1CE4E5B9UL);
                z = (z ^ (z >>> 27)) * Vector512.Create(0x94D049BB133111EBUL);
                z ^= z >>> 31;
                var value = (Vector512.ConvertToDouble((z >>> 11).AsInt64()) * scale) - one;
                value.StoreUnsafe(ref d, (nuint)i);
                index += eight;
            }
        }
        for (; i < destination.Length; i++)
        {
            destination[i] = ((SeededData.SplitMix64(seed, first + (ulong)i) >> 11) * (1.0 / (1UL << 53)) * 2.0) - 1.0;
        }
    }

    /// <summary>Sum of the values, accumulated in a fixed order (eight interleaved partial sums), so it is deterministic.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static double Sum(ReadOnlySpan<double> values)
    {
        var i = 0;
        var total = 0.0;
        if (Vector256.IsHardwareAccelerated && values.Length >= 8)
        {
            Vector256<double> s0 = default, s1 = default;
            ref var v = ref MemoryMarshal.GetReference(values);
            for (; i + 8 <= values.Length; i += 8)
            {
                s0 += Vector256.LoadUnsafe(ref v, (nuint)i);
                s1 += Vector256.LoadUnsafe(ref v, (nuint)i + 4);
            }
            total = Vector256.Sum(s0 + s1);
        }
        for (; i < values.Length; i++) total += values[i];
        return total;
    }

    /// <summary>C = A * B for row-major n x n matrices (C's previous contents are overwritten, never read).</summary>
    internal static void Multiply(ReadOnlySpan<double> a, ReadOnlySpan<double> b, Span<double> c, int n, KernelContext context) =>
        Multiply(new Stored(a), new Stored(b), c, n, context, ScratchMemory.Shared);

    /// <summary>C = A * B for the generated A (<see cref="SeedA"/>) and B (<see cref="SeedB"/>), as <see cref="Run"/> computes it.</summary>
    internal static void MultiplyGenerated(Span<double> c, int n, bool with256BitVectors = false)
    {
        if (with256BitVectors)
        {
            Multiply<Kernel6x8, Seeded, Seeded>(new Seeded(SeedA), new Seeded(SeedB), c, n, KernelContext.None, ScratchMemory.Shared);
        }
        else
        {
            Multiply(new Seeded(SeedA), new Seeded(SeedB), c, n, KernelContext.None, ScratchMemory.Shared);
        }
    }

    /// <summary>C = A * B with the 256-bit (AVX2) micro-kernel, whatever the processor supports (the fallback path, for tests).</summary>
    internal static void MultiplyWith256BitVectors(double[] a, double[] b, double[] c, int n, KernelContext context) =>
        Multiply<Kernel6x8, Stored, Stored>(new Stored(a), new Stored(b), c, n, context, ScratchMemory.Shared);

    private static void Multiply<TA, TB>(TA a, TB b, Span<double> c, int n, KernelContext context, ScratchMemory scratch)
        where TA : IMatrixSource, allows ref struct
        where TB : IMatrixSource, allows ref struct
    {
        if (Vector512.IsHardwareAccelerated)
        {
            Multiply<Kernel12x16, TA, TB>(a, b, c, n, context, scratch);
        }
        else
        {
            Multiply<Kernel6x8, TA, TB>(a, b, c, n, context, scratch);
        }
    }

    /// <summary>Where the packing takes a matrix's elements from.</summary>
    private interface IMatrixSource
    {
        /// <summary>Packs the mc x kc block at (ic, pc) into panels of MR rows, k-major, zero-padded (<paramref name="rows"/>: room for MR x kc doubles, for a source that needs it).</summary>
        void PackA<TKernel>(int n, int ic, int pc, int mc, int kc, Span<double> packed, Span<double> rows)
            where TKernel : struct, IMicroKernel;

        /// <summary>Packs the kc x nc block at (pc, jc) into panels of NR columns, k-major, zero-padded.</summary>
        void PackB<TKernel>(int n, int pc, int jc, int kc, int nc, Span<double> packed)
            where TKernel : struct, IMicroKernel;
    }

    /// <summary>A row-major matrix in memory.</summary>
    private readonly ref struct Stored(ReadOnlySpan<double> values) : IMatrixSource
    {
        private readonly ReadOnlySpan<double> _values = values;

        public void PackA<TKernel>(int n, int ic, int pc, int mc, int kc, Span<double> packed, Span<double> rows)
            where TKernel : struct, IMicroKernel => MatMulKernel.PackA<TKernel>(_values, n, ic, pc, mc, kc, packed);

        public void PackB<TKernel>(int n, int pc, int jc, int kc, int nc, Span<double> packed)
            where TKernel : struct, IMicroKernel => MatMulKernel.PackB<TKernel>(_values, n, pc, jc, kc, nc, packed);
    }

    /// <summary>The matrix <see cref="Generate(int, ulong, KernelContext)"/> makes from a seed, generated straight into the panels.</summary>
    private readonly struct Seeded(ulong seed) : IMatrixSource
    {
        public void PackA<TKernel>(int n, int ic, int pc, int mc, int kc, Span<double> packed, Span<double> rows)
            where TKernel : struct, IMicroKernel
        {
            // A panel's MR rows, generated as a small row-major matrix (rows kc apart) and packed like a stored one.
            var mrFull = TKernel.MR;
            for (var ir = 0; ir < mc; ir += mrFull)
            {
                var mr = Math.Min(mrFull, mc - ir);
                for (var r = 0; r < mr; r++)
                {
                    GenerateRange(rows.Slice(r * kc, kc), seed, (ulong)(((long)(ic + ir + r) * n) + pc));
                }
                MatMulKernel.PackA<TKernel>(rows, kc, 0, 0, mr, kc, packed.Slice(ir * kc, mrFull * kc));
            }
        }

        public void PackB<TKernel>(int n, int pc, int jc, int kc, int nc, Span<double> packed)
            where TKernel : struct, IMicroKernel
        {
            // A panel holds NR consecutive elements of a row of B per k: generated in place.
            var nrFull = TKernel.NR;
            var d = 0;
            for (var jr = 0; jr < nc; jr += nrFull)
            {
                var nr = Math.Min(nrFull, nc - jr);
                for (var k = 0; k < kc; k++, d += nrFull)
                {
                    var line = packed.Slice(d, nrFull);
                    GenerateRange(line[..nr], seed, (ulong)(((long)(pc + k) * n) + jc + jr));
                    line[nr..].Clear();
                }
            }
        }
    }

    /// <summary>A register-tiled micro-kernel and the cache blocking that suits it.</summary>
    private interface IMicroKernel
    {
        static abstract int MR { get; }
        static abstract int NR { get; }
        /// <summary>Depth of a packed block: a KC x NR panel of B stays in the L1 cache while the A panels stream by.</summary>
        static abstract int KC { get; }
        /// <summary>Rows of A packed at a time: an MC x KC block of A stays in the L2 cache.</summary>
        static abstract int MC { get; }
        /// <summary>Columns of B packed at a time (KC x NC, in the L3 cache).</summary>
        static abstract int NC { get; }

        /// <summary>
        /// C[0..MR, 0..NR] (+)= Apanel (MR x kc) * Bpanel (kc x NR), with C's rows <paramref name="ldc"/> apart: added to C
        /// when <paramref name="accumulate"/>, else stored over it (the first depth block, so C needs no clearing).
        /// </summary>
        static abstract void Run(int kc, ref double a, ref double b, ref double c, nuint ldc, bool accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Multiply<TKernel, TA, TB>(TA a, TB b, Span<double> c, int n, KernelContext context, ScratchMemory scratch)
        where TKernel : struct, IMicroKernel
        where TA : IMatrixSource, allows ref struct
        where TB : IMatrixSource, allows ref struct
    {
        int mrFull = TKernel.MR, nrFull = TKernel.NR, kcMax = TKernel.KC, mcMax = TKernel.MC, ncMax = TKernel.NC;
        var packedALength = RoundUp(Math.Min(mcMax, n), mrFull) * Math.Min(kcMax, n);
        var packedBLength = Math.Min(kcMax, n) * RoundUp(Math.Min(ncMax, n), nrFull);
        var rowsLength = mrFull * Math.Min(kcMax, n);
        using var packing = scratch.Rent(packedALength + packedBLength + rowsLength);
        var packedA = packing.Slice(0, packedALength);
        var packedB = packing.Slice(packedALength, packedBLength);
        var rows = packing.Slice(packedALength + packedBLength, rowsLength);
        Span<double> edge = stackalloc double[mrFull * nrFull];

        for (var jc = 0; jc < n; jc += ncMax)
        {
            var nc = Math.Min(ncMax, n - jc);
            for (var pc = 0; pc < n; pc += kcMax)
            {
                var kc = Math.Min(kcMax, n - pc);
                var accumulate = pc > 0;
                b.PackB<TKernel>(n, pc, jc, kc, nc, packedB);
                for (var ic = 0; ic < n; ic += mcMax)
                {
                    context.ThrowIfCancellationRequested();
                    var mc = Math.Min(mcMax, n - ic);
                    a.PackA<TKernel>(n, ic, pc, mc, kc, packedA, rows);
                    for (var jr = 0; jr < nc; jr += nrFull)
                    {
                        var nr = Math.Min(nrFull, nc - jr);
                        ref var bPanel = ref packedB[jr * kc];
                        for (var ir = 0; ir < mc; ir += mrFull)
                        {
                            var mr = Math.Min(mrFull, mc - ir);
                            ref var aPanel = ref packedA[ir * kc];
                            if (mr == mrFull && nr == nrFull)
                            {
                                TKernel.Run(kc, ref aPanel, ref bPanel, ref c[((ic + ir) * n) + jc + jr], (nuint)n, accumulate);
                            }
                            else
                            {
                                // Partial tile at the matrix edge: compute a full tile into scratch, then the valid part.
                                TKernel.Run(kc, ref aPanel, ref bPanel, ref edge[0], (nuint)nrFull, accumulate: false);
                                for (var i = 0; i < mr; i++)
                                {
                                    for (var j = 0; j < nr; j++)
                                    {
                                        ref var cij = ref c[((ic + ir + i) * n) + jc + jr + j];
                                        cij = accumulate ? cij + edge[(i * nrFull) + j] : edge[(i * nrFull) + j];
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackB<TKernel>(ReadOnlySpan<double> b, int n, int pc, int jc, int kc, int nc, Span<double> packed)
        where TKernel : struct, IMicroKernel
    {
        var nrFull = TKernel.NR;
        ref var source = ref MemoryMarshal.GetReference(b);
        ref var dst = ref MemoryMarshal.GetReference(packed);
        var d = 0;
        for (var jr = 0; jr < nc; jr += nrFull)
        {
            var nr = Math.Min(nrFull, nc - jr);
            var row = (pc * n) + jc + jr;
            if (nr == nrFull && Vector256.IsHardwareAccelerated)
            {
                for (var k = 0; k < kc; k++, row += n, d += nrFull)
                {
                    for (var j = 0; j < nrFull; j += 4)
                    {
                        Vector256.LoadUnsafe(ref source, (nuint)(row + j)).StoreUnsafe(ref dst, (nuint)(d + j));
                    }
                }
            }
            else
            {
                for (var k = 0; k < kc; k++, row += n, d += nrFull)
                {
                    for (var j = 0; j < nrFull; j++)
                    {
                        Unsafe.Add(ref dst, d + j) = j < nr ? Unsafe.Add(ref source, row + j) : 0.0;
                    }
                }
            }
        }
    }

    /// <summary>Copies the mc x kc block of A at (ic, pc) into panels of MR rows, k-major, zero-padded.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackA<TKernel>(ReadOnlySpan<double> a, int n, int ic, int pc, int mc, int kc, Span<double> packed)
        where TKernel : struct, IMicroKernel
    {
        var mrFull = TKernel.MR;
        ref var source = ref MemoryMarshal.GetReference(a);
        for (var ir = 0; ir < mc; ir += mrFull)
        {
            var mr = Math.Min(mrFull, mc - ir);
            var panel = packed.Slice(ir * kc, mrFull * kc);
            ref var dst = ref MemoryMarshal.GetReference(panel);
            var rows = 0;
            var k4 = kc & ~3;
            if (Avx.IsSupported)
            {
                // Four rows at a time, four columns at a time: a 4 x 4 transpose in registers.
                for (; rows + 4 <= mr; rows += 4)
                {
                    ref var r0 = ref Unsafe.Add(ref source, ((ic + ir + rows) * n) + pc);
                    ref var r1 = ref Unsafe.Add(ref r0, n);
                    ref var r2 = ref Unsafe.Add(ref r1, n);
                    ref var r3 = ref Unsafe.Add(ref r2, n);
                    for (var k = 0; k < k4; k += 4)
                    {
                        var x0 = Vector256.LoadUnsafe(ref r0, (nuint)k);
                        var x1 = Vector256.LoadUnsafe(ref r1, (nuint)k);
                        var x2 = Vector256.LoadUnsafe(ref r2, (nuint)k);
                        var x3 = Vector256.LoadUnsafe(ref r3, (nuint)k);
                        var t0 = Avx.UnpackLow(x0, x1);
                        var t1 = Avx.UnpackHigh(x0, x1);
                        var t2 = Avx.UnpackLow(x2, x3);
                        var t3 = Avx.UnpackHigh(x2, x3);
                        var at = (nuint)((k * mrFull) + rows);
                        Avx.Permute2x128(t0, t2, 0x20).StoreUnsafe(ref dst, at);
                        Avx.Permute2x128(t1, t3, 0x20).StoreUnsafe(ref dst, at + (nuint)mrFull);
                        Avx.Permute2x128(t0, t2, 0x31).StoreUnsafe(ref dst, at + (nuint)(2 * mrFull));
                        Avx.Permute2x128(t1, t3, 0x31).StoreUnsafe(ref dst, at + (nuint)(3 * mrFull));
                    }
                    for (var k = k4; k < kc; k++)
                    {
                        var at = (k * mrFull) + rows;
                        Unsafe.Add(ref dst, at) = Unsafe.Add(ref r0, k);
                        Unsafe.Add(ref dst, at + 1) = Unsafe.Add(ref r1, k);
                        Unsafe.Add(ref dst, at + 2) = Unsafe.Add(ref r2, k);
                        Unsafe.Add(ref dst, at + 3) = Unsafe.Add(ref r3, k);
                    }
                }
            }
            // Remaining rows one by one, then zeros for the rows past the matrix edge.
            for (; rows < mrFull; rows++)
            {
                if (rows < mr)
                {
                    ref var src = ref Unsafe.Add(ref source, ((ic + ir + rows) * n) + pc);
                    for (var k = 0; k < kc; k++)
                    {
                        Unsafe.Add(ref dst, (k * mrFull) + rows) = Unsafe.Add(ref src, k);
                    }
                }
                else
                {
                    for (var k = 0; k < kc; k++)
                    {
                        Unsafe.Add(ref dst, (k * mrFull) + rows) = 0.0;
                    }
                }
            }
        }
    }

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;

    /// <summary>
    /// Asks for a tile of C (its rows <paramref name="ldc"/> doubles apart) to be brought into the cache while the
    /// micro-kernel computes, instead of waiting for it when the tile is written: C's rows are far apart, so each is
    /// a miss (at n = 1024 this alone took the kernel from about 0.8x to 0.9x of OpenBLAS).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PrefetchTile(ref double c, nuint ldc, int rows, int linesPerRow)
    {
        if (!Sse.IsSupported) return;
        for (var row = 0; row < rows; row++)
        {
            var line = (byte*)Unsafe.AsPointer(ref Unsafe.Add(ref c, (nuint)row * ldc));
            for (var i = 0; i < linesPerRow; i++) Sse.Prefetch0(line + (i * 64));
        }
    }

    /// <summary>
    /// 12 x 16 tile in 24 zmm accumulators; with two vectors of B and the broadcasts of A it fits the
    /// 32 vector registers of AVX-512.
    /// </summary>
    private readonly struct Kernel12x16 : IMicroKernel
    {
        public static int MR => 12;
        public static int NR => 16;
        public static int KC => 256;
        public static int MC => 144;
        public static int NC => 2048;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void Run(int kc, ref double a, ref double b, ref double c, nuint ldc, bool accumulate)
        {
            PrefetchTile(ref c, ldc, rows: 12, linesPerRow: 2);
            Vector512<double> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
            Vector512<double> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
            Vector512<double> c60 = default, c61 = default, c70 = default, c71 = default, c80 = default, c81 = default;
            Vector512<double> c90 = default, c91 = default, cA0 = default, cA1 = default, cB0 = default, cB1 = default;

            for (var k = 0; k < kc; k++)
            {
                var b0 = Vector512.LoadUnsafe(ref b);
                var b1 = Vector512.LoadUnsafe(ref b, 8);

                var ai = Vector512.Create(a);
                c00 = Vector512.FusedMultiplyAdd(ai, b0, c00);
                c01 = Vector512.FusedMultiplyAdd(ai, b1, c01);
                ai = Vector512.Create(Unsafe.Add(ref a, 1));
                c10 = Vector512.FusedMultiplyAdd(ai, b0, c10);
                c11 = Vector512.FusedMultiplyAdd(ai, b1, c11);
                ai = Vector512.Create(Unsafe.Add(ref a, 2));
                c20 = Vector512.FusedMultiplyAdd(ai, b0, c20);
                c21 = Vector512.FusedMultiplyAdd(ai, b1, c21);
                ai = Vector512.Create(Unsafe.Add(ref a, 3));
                c30 = Vector512.FusedMultiplyAdd(ai, b0, c30);
                c31 = Vector512.FusedMultiplyAdd(ai, b1, c31);
                ai = Vector512.Create(Unsafe.Add(ref a, 4));
                c40 = Vector512.FusedMultiplyAdd(ai, b0, c40);
                c41 = Vector512.FusedMultiplyAdd(ai, b1, c41);
                ai = Vector512.Create(Unsafe.Add(ref a, 5));
                c50 = Vector512.FusedMultiplyAdd(ai, b0, c50);
                c51 = Vector512.FusedMultiplyAdd(ai, b1, c51);
                ai = Vector512.Create(Unsafe.Add(ref a, 6));
                c60 = Vector512.FusedMultiplyAdd(ai, b0, c60);
                c61 = Vector512.FusedMultiplyAdd(ai, b1, c61);
                ai = Vector512.Create(Unsafe.Add(ref a, 7));
                c70 = Vector512.FusedMultiplyAdd(ai, b0, c70);
                c71 = Vector512.FusedMultiplyAdd(ai, b1, c71);
                ai = Vector512.Create(Unsafe.Add(ref a, 8));
                c80 = Vector512.FusedMultiplyAdd(ai, b0, c80);
                c81 = Vector512.FusedMultiplyAdd(ai, b1, c81);
                ai = Vector512.Create(Unsafe.Add(ref a, 9));
                c90 = Vector512.FusedMultiplyAdd(ai, b0, c90);
                c91 = Vector512.FusedMultiplyAdd(ai, b1, c91);
                ai = Vector512.Create(Unsafe.Add(ref a, 10));
                cA0 = Vector512.FusedMultiplyAdd(ai, b0, cA0);
                cA1 = Vector512.FusedMultiplyAdd(ai, b1, cA1);
                ai = Vector512.Create(Unsafe.Add(ref a, 11));
                cB0 = Vector512.FusedMultiplyAdd(ai, b0, cB0);
                cB1 = Vector512.FusedMultiplyAdd(ai, b1, cB1);

                a = ref Unsafe.Add(ref a, 12);
                b = ref Unsafe.Add(ref b, 16);
            }

            AddRow(ref c, 0 * ldc, c00, c01, accumulate);
            AddRow(ref c, 1 * ldc, c10, c11, accumulate);
            AddRow(ref c, 2 * ldc, c20, c21, accumulate);
            AddRow(ref c, 3 * ldc, c30, c31, accumulate);
            AddRow(ref c, 4 * ldc, c40, c41, accumulate);
            AddRow(ref c, 5 * ldc, c50, c51, accumulate);
            AddRow(ref c, 6 * ldc, c60, c61, accumulate);
            AddRow(ref c, 7 * ldc, c70, c71, accumulate);
            AddRow(ref c, 8 * ldc, c80, c81, accumulate);
            AddRow(ref c, 9 * ldc, c90, c91, accumulate);
            AddRow(ref c, 10 * ldc, cA0, cA1, accumulate);
            AddRow(ref c, 11 * ldc, cB0, cB1, accumulate);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void AddRow(ref double c, nuint offset, Vector512<double> left, Vector512<double> right, bool accumulate)
        {
            if (accumulate)
            {
                left = Vector512.LoadUnsafe(ref c, offset) + left;
                right = Vector512.LoadUnsafe(ref c, offset + 8) + right;
            }
            left.StoreUnsafe(ref c, offset);
            right.StoreUnsafe(ref c, offset + 8);
        }
    }

    /// <summary>6 x 8 tile in 12 ymm accumulators; with two vectors of B and one broadcast of A it fits the 16 registers of AVX2.</summary>
    private readonly struct Kernel6x8 : IMicroKernel
    {
        public static int MR => 6;
        public static int NR => 8;
        public static int KC => 256;
        public static int MC => 96;
        public static int NC => 1024;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void Run(int kc, ref double a, ref double b, ref double c, nuint ldc, bool accumulate)
        {
            PrefetchTile(ref c, ldc, rows: 6, linesPerRow: 1);
            Vector256<double> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
            Vector256<double> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;

            for (var k = 0; k < kc; k++)
            {
                var b0 = Vector256.LoadUnsafe(ref b);
                var b1 = Vector256.LoadUnsafe(ref b, 4);

                var ai = Vector256.Create(a);
                c00 = Vector256.MultiplyAddEstimate(ai, b0, c00);
                c01 = Vector256.MultiplyAddEstimate(ai, b1, c01);
                ai = Vector256.Create(Unsafe.Add(ref a, 1));
                c10 = Vector256.MultiplyAddEstimate(ai, b0, c10);
                c11 = Vector256.MultiplyAddEstimate(ai, b1, c11);
                ai = Vector256.Create(Unsafe.Add(ref a, 2));
                c20 = Vector256.MultiplyAddEstimate(ai, b0, c20);
                c21 = Vector256.MultiplyAddEstimate(ai, b1, c21);
                ai = Vector256.Create(Unsafe.Add(ref a, 3));
                c30 = Vector256.MultiplyAddEstimate(ai, b0, c30);
                c31 = Vector256.MultiplyAddEstimate(ai, b1, c31);
                ai = Vector256.Create(Unsafe.Add(ref a, 4));
                c40 = Vector256.MultiplyAddEstimate(ai, b0, c40);
                c41 = Vector256.MultiplyAddEstimate(ai, b1, c41);
                ai = Vector256.Create(Unsafe.Add(ref a, 5));
                c50 = Vector256.MultiplyAddEstimate(ai, b0, c50);
                c51 = Vector256.MultiplyAddEstimate(ai, b1, c51);

                a = ref Unsafe.Add(ref a, 6);
                b = ref Unsafe.Add(ref b, 8);
            }

            AddRow(ref c, 0 * ldc, c00, c01, accumulate);
            AddRow(ref c, 1 * ldc, c10, c11, accumulate);
            AddRow(ref c, 2 * ldc, c20, c21, accumulate);
            AddRow(ref c, 3 * ldc, c30, c31, accumulate);
            AddRow(ref c, 4 * ldc, c40, c41, accumulate);
            AddRow(ref c, 5 * ldc, c50, c51, accumulate);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void AddRow(ref double c, nuint offset, Vector256<double> left, Vector256<double> right, bool accumulate)
        {
            if (accumulate)
            {
                left = Vector256.LoadUnsafe(ref c, offset) + left;
                right = Vector256.LoadUnsafe(ref c, offset + 4) + right;
            }
            left.StoreUnsafe(ref c, offset);
            right.StoreUnsafe(ref c, offset + 4);
        }
    }
}
