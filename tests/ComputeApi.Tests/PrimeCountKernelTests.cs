using CloudApp.ComputeApi.Kernels;

namespace CloudApp.ComputeApi.Tests;

public class PrimeCountKernelTests
{
    private const long NumbersPerSegment = PrimeCountKernel.SegmentBytes * 30L;

    // A plain sieve, independent of the wheel, to check every small n and the segment boundaries.
    private static readonly int[] PrefixCounts = BuildPrefixCounts((int)(3 * NumbersPerSegment + 1000));

    [Theory]
    [InlineData(1, 0)]
    [InlineData(2, 1)]
    [InlineData(10, 4)]
    [InlineData(100, 25)]
    [InlineData(1_000, 168)]
    [InlineData(10_000, 1_229)]
    [InlineData(100_000, 9_592)]
    [InlineData(1_000_000, 78_498)]
    [InlineData(10_000_000, 664_579)]
    [InlineData(100_000_000, 5_761_455)]
    [InlineData(1_000_000_000, 50_847_534)]
    [InlineData(10_000_000_000, 455_052_511)]
    public void CountsKnownPrimeCounts(long n, long expected)
    {
        Assert.Equal(expected, PrimeCountKernel.CountPrimes(n, KernelContext.None));
    }

    [Fact]
    public void AgreesWithAPlainSieveForEverySmallLimit()
    {
        for (var n = 1; n <= 5_000; n++)
        {
            Assert.True(PrefixCounts[n] == PrimeCountKernel.CountPrimes(n, KernelContext.None), $"pi({n})");
        }
    }

    [Fact]
    public void AgreesWithAPlainSieveAroundSegmentBoundaries()
    {
        for (var segment = 1; segment <= 3; segment++)
        {
            for (var delta = -31; delta <= 31; delta++)
            {
                var n = (segment * NumbersPerSegment) + delta;
                Assert.True(PrefixCounts[n] == PrimeCountKernel.CountPrimes(n, KernelContext.None), $"pi({n})");
            }
        }
    }

    [Fact]
    public void AgreesWithAPlainSieveAroundChunkBoundaries()
    {
        // Small sieving primes cross off one chunk of a segment at a time; check the limits around each chunk.
        var numbersPerChunk = PrimeCountKernel.ChunkBytes * 30L;
        for (var chunk = 1; chunk * numbersPerChunk < 3 * NumbersPerSegment; chunk++)
        {
            foreach (var delta in new[] { -30, -1, 0, 1, 30 })
            {
                var n = (chunk * numbersPerChunk) + delta;
                Assert.True(PrefixCounts[n] == PrimeCountKernel.CountPrimes(n, KernelContext.None), $"pi({n})");
            }
        }
    }

    [Theory]
    [InlineData(16 * 1024)]
    [InlineData(32 * 1024)]
    [InlineData(80 * 1024)]
    [InlineData(256 * 1024)]
    public void CountsTheSameWithTheChunkOfAnyL1Cache(int chunkBytes)
    {
        Assert.Equal(50_847_534, PrimeCountKernel.CountPrimes(1_000_000_000, KernelContext.None, chunkBytes));
        var random = new Random(chunkBytes);
        for (var i = 0; i < 20; i++)
        {
            var n = random.Next(1, PrefixCounts.Length);
            Assert.True(PrefixCounts[n] == PrimeCountKernel.CountPrimes(n, KernelContext.None, chunkBytes), $"pi({n})");
        }
    }

    [Fact]
    public void AgreesWithAPlainSieveForRandomLimits()
    {
        var random = new Random(12345);
        for (var i = 0; i < 200; i++)
        {
            var n = random.Next(1, PrefixCounts.Length);
            Assert.True(PrefixCounts[n] == PrimeCountKernel.CountPrimes(n, KernelContext.None), $"pi({n})");
        }
    }

    [Fact]
    public void ReportsEveryNumberItCoveredAsWork()
    {
        long reported = 0;
        var n = (2 * NumbersPerSegment) + 12_345;
        var output = new PrimeCountKernel().Run(n, new KernelContext(CancellationToken.None, work => reported += work));

        Assert.Equal(n, reported);
        Assert.Equal(n, output.Work);
        Assert.Equal((long)PrefixCounts[n], output.Result);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(1_000_000_000_001)]
    public void RejectsSizesOutsideWhatItCanRun(long size)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new PrimeCountKernel().Run(size, KernelContext.None));
    }

    [Fact]
    public void StopsAtOnceWhenAlreadyCancelled()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => new PrimeCountKernel().Run(10_000_000_000, new KernelContext(cts.Token)));
    }

    [Fact]
    public void StopsSoonAfterCancellationMidRun()
    {
        KernelAssert.StopsSoonAfterCancellation(new PrimeCountKernel(), 10_000_000_000);
    }

    [Fact]
    public void UsesPrimesUpToTheSquareRootOnly()
    {
        Assert.Equal(100_000, PrimeCountKernel.IntegerSqrt(10_000_000_000));
        Assert.Equal(99_999, PrimeCountKernel.IntegerSqrt(9_999_999_999));
        Assert.Equal([19, 23, 29, 31], PrimeCountKernel.SmallPrimes(31, 19));
    }

    [Theory]
    [InlineData("48K", 48 * 1024)]
    [InlineData("32K", 32 * 1024)]
    [InlineData("50K", 48 * 1024)] // whole 4 KiB
    [InlineData("8K", 16 * 1024)] // at least 16 KiB
    [InlineData("1024K", 256 * 1024)] // at most 256 KiB
    [InlineData("1M", 32 * 1024)] // not understood: the default
    public void SizesChunksByTheL1DataCacheLinuxReports(string size, int expected)
    {
        var cache = Directory.CreateTempSubdirectory("cloudapp-cache-");
        try
        {
            WriteCacheIndex(cache, "index0", level: "1", type: "Instruction", size: "32K");
            WriteCacheIndex(cache, "index1", level: "1", type: "Data", size);
            WriteCacheIndex(cache, "index2", level: "2", type: "Unified", size: "2048K");

            Assert.Equal(expected, PrimeCountKernel.L1DataCacheBytes(cache.FullName));
        }
        finally
        {
            cache.Delete(recursive: true);
        }
    }

    [Fact]
    public void SizesChunksAt32KiBWhereNoCacheIsReported()
    {
        Assert.Equal(32 * 1024, PrimeCountKernel.L1DataCacheBytes(Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N"))));
    }

    private static void WriteCacheIndex(DirectoryInfo cache, string index, string level, string type, string size)
    {
        var directory = cache.CreateSubdirectory(index);
        File.WriteAllText(Path.Combine(directory.FullName, "level"), level + "\n");
        File.WriteAllText(Path.Combine(directory.FullName, "type"), type + "\n");
        File.WriteAllText(Path.Combine(directory.FullName, "size"), size + "\n");
    }

    private static int[] BuildPrefixCounts(int limit)
    {
        var composite = new bool[limit + 1];
        var prefix = new int[limit + 1];
        var count = 0;
        for (var i = 2; i <= limit; i++)
        {
            if (!composite[i])
            {
                count++;
                for (var j = (long)i * i; j <= limit; j += i) composite[j] = true;
            }
            prefix[i] = count;
        }
        return prefix;
    }
}
