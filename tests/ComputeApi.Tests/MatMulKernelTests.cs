using CloudApp.ComputeApi.Kernels;

namespace CloudApp.ComputeApi.Tests;

public class MatMulKernelTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(8)]
    [InlineData(13)]
    [InlineData(97)]
    [InlineData(257)]
    public void MultipliesLikeTheTextbookTripleLoop(int n)
    {
        var a = MatMulKernel.Generate(n, MatMulKernel.SeedA, KernelContext.None);
        var b = MatMulKernel.Generate(n, MatMulKernel.SeedB, KernelContext.None);
        var c = new double[n * n];
        Array.Fill(c, double.NaN); // C is overwritten, never read: its old contents must not matter

        MatMulKernel.Multiply(a, b, c, n, KernelContext.None);

        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                var expected = 0.0;
                for (var k = 0; k < n; k++) expected += a[(i * n) + k] * b[(k * n) + j];
                Assert.True(Math.Abs(expected - c[(i * n) + j]) <= 1e-12 * n, $"C[{i},{j}] = {c[(i * n) + j]}, expected {expected}");
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(13)]
    [InlineData(97)]
    [InlineData(257)]
    public void FallbackKernelMultipliesLikeTheTextbookTripleLoop(int n)
    {
        // Processors without AVX-512 run the 6 x 8 micro-kernel on 256-bit vectors: check it here too.
        var a = MatMulKernel.Generate(n, MatMulKernel.SeedA, KernelContext.None);
        var b = MatMulKernel.Generate(n, MatMulKernel.SeedB, KernelContext.None);
        var c = new double[n * n];
        Array.Fill(c, double.NaN); // C is overwritten, never read: its old contents must not matter

        MatMulKernel.MultiplyWith256BitVectors(a, b, c, n, KernelContext.None);

        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                var expected = 0.0;
                for (var k = 0; k < n; k++) expected += a[(i * n) + k] * b[(k * n) + j];
                Assert.True(Math.Abs(expected - c[(i * n) + j]) <= 1e-12 * n, $"C[{i},{j}] = {c[(i * n) + j]}, expected {expected}");
            }
        }
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(13, false)]
    [InlineData(300, false)]
    [InlineData(1030, false)]
    [InlineData(1, true)]
    [InlineData(13, true)]
    [InlineData(300, true)]
    [InlineData(1030, true)]
    public void GeneratingIntoThePanelsGivesExactlyTheProductOfTheStoredMatrices(int n, bool with256BitVectors)
    {
        // A job never stores A and B: its packing generates them. The product must be the same, bit for bit,
        // across the blocking edges (300 > KC and MC; 1030 > NC of the 256-bit kernel).
        var a = MatMulKernel.Generate(n, MatMulKernel.SeedA, KernelContext.None);
        var b = MatMulKernel.Generate(n, MatMulKernel.SeedB, KernelContext.None);
        var stored = new double[n * n];
        if (with256BitVectors)
        {
            MatMulKernel.MultiplyWith256BitVectors(a, b, stored, n, KernelContext.None);
        }
        else
        {
            MatMulKernel.Multiply(a, b, stored, n, KernelContext.None);
        }
        var generated = new double[n * n];
        Array.Fill(generated, double.NaN);

        MatMulKernel.MultiplyGenerated(generated, n, with256BitVectors);

        Assert.Equal(stored, generated);
    }

    [Fact]
    public void GeneratesEveryElementFromItsIndexAlone()
    {
        // The generator may work several elements at a time; each must still be exactly the scalar formula.
        const int n = 37;
        var values = MatMulKernel.Generate(n, MatMulKernel.SeedB, KernelContext.None);
        for (var i = 0; i < n * n; i++)
        {
            var expected = ((SeededData.SplitMix64(MatMulKernel.SeedB, (ulong)i) >> 11) * (1.0 / (1UL << 53)) * 2.0) - 1.0;
            Assert.Equal(BitConverter.DoubleToInt64Bits(expected), BitConverter.DoubleToInt64Bits(values[i]));
        }
    }

    [Theory]
    [InlineData(300)]
    [InlineData(1030)]
    [InlineData(2100)]
    public void ChecksumEqualsTheSumOfColumnSumsTimesRowSums(int n)
    {
        // sum(A * B) = sum over k of (column k of A summed) * (row k of B summed): an O(n^2) check of the O(n^3) product.
        var a = MatMulKernel.Generate(n, MatMulKernel.SeedA, KernelContext.None);
        var b = MatMulKernel.Generate(n, MatMulKernel.SeedB, KernelContext.None);
        var expected = 0.0;
        for (var k = 0; k < n; k++)
        {
            double column = 0, row = 0;
            for (var i = 0; i < n; i++)
            {
                column += a[(i * n) + k];
                row += b[(k * n) + i];
            }
            expected += column * row;
        }

        var output = new MatMulKernel().Run(n, KernelContext.None);

        Assert.Equal(expected, (double)output.Result, 1e-9 * n * n);
        Assert.Equal(2L * n * n * n, output.Work);
    }

    [Fact]
    public void GivesTheSameChecksumEveryTime()
    {
        var kernel = new MatMulKernel();
        Assert.Equal(kernel.Run(200, KernelContext.None).Result, kernel.Run(200, KernelContext.None).Result);
    }

    [Fact]
    public void GeneratesValuesInMinusOneToOne()
    {
        var values = MatMulKernel.Generate(64, MatMulKernel.SeedA, KernelContext.None);
        Assert.All(values, v => Assert.InRange(v, -1.0, 1.0));
        Assert.True(values.Distinct().Count() > 4000, "generated values should not repeat");
    }

    [Fact]
    public void ReportsAllFloatingPointOperationsAsWork()
    {
        long reported = 0;
        new MatMulKernel().Run(300, new KernelContext(CancellationToken.None, w => reported += w));
        Assert.Equal(2L * 300 * 300 * 300, reported);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4097)]
    public void RejectsSizesOutsideWhatItCanRun(long size)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new MatMulKernel().Run(size, KernelContext.None));
    }

    [Fact]
    public void StopsSoonAfterCancellationMidRun()
    {
        KernelAssert.StopsSoonAfterCancellation(new MatMulKernel(), 4096);
    }
}
