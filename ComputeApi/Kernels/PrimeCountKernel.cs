using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace CloudApp.ComputeApi.Kernels;

/// <summary>
/// Counts the primes up to n with a segmented sieve of Eratosthenes on a mod-30 wheel: one byte holds the
/// eight numbers 30k + {1, 7, 11, 13, 17, 19, 23, 29}, so multiples of 2, 3 and 5 never take memory or time.
/// Each segment starts as the AND of precomputed patterns of the primes 7 to 97, so the sieve crosses off
/// only primes from 101 up to sqrt(n): the small ones an L1-cache-sized chunk at a time, the others over the
/// whole (L2-sized) segment. Memory stays bounded by one segment plus the sieving primes up to sqrt(n).
/// </summary>
public sealed class PrimeCountKernel : IComputeKernel
{
    public const string KernelName = "primes";

    // 256 KiB of sieve (about 7.9 million numbers) per segment: it stays in the L2 cache, every sieving prime
    // up to sqrt(10^10) hits it a few times per progression, and a cancellation check comes every few milliseconds.
    internal const int SegmentBytes = 256 * 1024;

    // Primes below ChunkPrimeLimit cross off one L1-sized chunk of the segment at a time (each hits a chunk at
    // least eight times per progression); larger ones cross off the whole segment at once.
    internal const int ChunkBytes = 32 * 1024;
    private const int ChunkPrimeLimit = ChunkBytes / 8;

    // Groups of presieved primes: the pattern of a group repeats every (product of the group) bytes, and a
    // segment starts as the AND of all patterns instead of crossing these primes off again.
    private static readonly int[][] PresieveGroups =
    [
        [7, 11, 13, 17], [19, 23, 29], [31, 37, 41], [43, 47], [53, 59], [61, 67], [71, 73], [79, 83], [89, 97],
    ];
    private const int FirstSievingPrime = 101;

    private static ReadOnlySpan<byte> Residues => [1, 7, 11, 13, 17, 19, 23, 29];

    // Bit index of each residue mod 30 in a wheel byte, -1 for residues sharing a factor with 30.
    private static ReadOnlySpan<sbyte> BitOfResidue =>
    [
        -1, 0, -1, -1, -1, -1, -1, 1, -1, -1, -1, 2, -1, 3, -1, -1,
        -1, 4, -1, 5, -1, -1, -1, 6, -1, -1, -1, -1, -1, 7,
    ];

    private static readonly int[] PrimesBelowFirstSievingPrime = SmallPrimes(FirstSievingPrime - 1, 2);
    private static readonly byte[][] PresieveTables = [.. PresieveGroups.Select(BuildPresievePattern)];

    public string Name => KernelName;
    public string Description => "Counts the primes <= n with a segmented, wheel-factorized sieve of Eratosthenes.";
    public string SizeMeaning => "count primes up to n";
    public long HardMaxSize => 1_000_000_000_000;

    /// <summary>Up to a million: about 0.1 ms.</summary>
    public long InlineMaxSize => 1_000_000;
    public KernelLimits DefaultLimits => new() { DefaultSize = 10_000_000, MaxSize = 10_000_000_000 };
    public KernelWork Work { get; } = new("numbers", "compute.primes.sieved", "{number}",
        "Numbers the prime sieve has covered; rate() is the sieving throughput.");

    public KernelOutput Run(long size, KernelContext context)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, HardMaxSize);
        return new KernelOutput(CountPrimes(size, context), size);
    }

    /// <summary>pi(n): the number of primes less than or equal to n.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static long CountPrimes(long n, KernelContext context)
    {
        context.ThrowIfCancellationRequested();
        long count = 0;
        foreach (var p in PrimesBelowFirstSievingPrime)
        {
            if (p <= n) count++;
        }
        if (n < FirstSievingPrime)
        {
            context.ReportWork(n);
            return count;
        }

        var sievingPrimes = SmallPrimes(IntegerSqrt(n), FirstSievingPrime);
        var chunkPrimes = 0;
        while (chunkPrimes < sievingPrimes.Length && sievingPrimes[chunkPrimes] < ChunkPrimeLimit) chunkPrimes++;

        // Each prime crosses off eight progressions (one per wheel residue of its cofactor), each stepping
        // p bytes; offsets are relative to the start of the span being sieved next.
        var offsets = new int[sievingPrimes.Length * 8];
        var residueClass = new byte[sievingPrimes.Length];
        for (var i = 0; i < sievingPrimes.Length; i++)
        {
            residueClass[i] = (byte)BitOfResidue[sievingPrimes[i] % 30];
        }
        var active = 0;

        var lastByte = n / 30;
        var totalBytes = lastByte + 1;
        long reported = 0;

        // One spare byte past the end: the branch-free tails of the crossing loops AND it with 0xFF when a
        // progression has no hit left. Pooled, and no larger than n needs: a fresh 256 KiB array per job would
        // land on the large object heap and cost small jobs more than their sieving.
        var segment = ArrayPool<byte>.Shared.Rent((int)Math.Min(SegmentBytes, totalBytes) + 1);
        try
        {
            for (long low = 0; low < totalBytes; low += SegmentBytes)
            {
                context.ThrowIfCancellationRequested();
                var length = (int)Math.Min(SegmentBytes, totalBytes - low);

                // A prime starts crossing off at p * p, so it joins once that square falls in the current segment.
                var segmentEndNumber = (low + length) * 30;
                while (active < sievingPrimes.Length && (long)sievingPrimes[active] * sievingPrimes[active] < segmentEndNumber)
                {
                    StartPrime(sievingPrimes[active], low, offsets.AsSpan(active * 8, 8));
                    active++;
                }

                var smallActive = Math.Min(active, chunkPrimes);
                for (var start = 0; start < length; start += ChunkBytes)
                {
                    var chunkLength = Math.Min(ChunkBytes, length - start);
                    var chunk = segment.AsSpan(start, chunkLength);
                    FillPresieve(chunk, low + start);
                    CrossOffAll(chunk, sievingPrimes, residueClass, offsets, 0, smallActive);
                }
                CrossOffAll(segment.AsSpan(0, length), sievingPrimes, residueClass, offsets, smallActive, active);

                if (low == 0)
                {
                    segment[0] &= 0xFE; // 1 is not prime
                }
                if (low + length == totalBytes)
                {
                    segment[length - 1] &= KeepUpTo((int)(n % 30));
                }
                count += PopCount(segment.AsSpan(0, length));

                var covered = Math.Min(n, segmentEndNumber - 1);
                context.ReportWork(covered - reported);
                reported = covered;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(segment);
        }

        return count;
    }

    private static void StartPrime(int p, long segmentLow, Span<int> offsets)
    {
        // The cofactors m >= p that are coprime to 30, one per residue class: p * m covers every multiple
        // of p in the wheel that no smaller prime has crossed off, and m + 30 moves p * m by exactly p bytes.
        // Progression k has cofactors m = Residues[k] (mod 30), so it clears the bit of p * Residues[k] (mod 30).
        var pm = p % 30;
        for (var k = 0; k < 8; k++)
        {
            var m = p + ((Residues[k] - pm + 30) % 30);
            var multiple = (long)p * m;
            offsets[k] = (int)(multiple / 30 - segmentLow);
        }
    }

    /// <summary>Crosses off the active primes [from, to) over <paramref name="sieve"/> (followed by one spare byte).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CrossOffAll(Span<byte> sieve, int[] primes, byte[] residueClass, int[] offsets, int from, int to)
    {
        ref var s = ref MemoryMarshal.GetReference(sieve);
        var length = sieve.Length;
        ref var o = ref MemoryMarshal.GetArrayDataReference(offsets);
        for (var i = from; i < to; i++)
        {
            ref var po = ref Unsafe.Add(ref o, i * 8);
            var p = primes[i];
            switch (residueClass[i])
            {
                case 0: CrossOff<Residue1>(ref s, length, p, ref po); break;
                case 1: CrossOff<Residue7>(ref s, length, p, ref po); break;
                case 2: CrossOff<Residue11>(ref s, length, p, ref po); break;
                case 3: CrossOff<Residue13>(ref s, length, p, ref po); break;
                case 4: CrossOff<Residue17>(ref s, length, p, ref po); break;
                case 5: CrossOff<Residue19>(ref s, length, p, ref po); break;
                case 6: CrossOff<Residue23>(ref s, length, p, ref po); break;
                default: CrossOff<Residue29>(ref s, length, p, ref po); break;
            }
        }
    }

    /// <summary>
    /// Crosses off the eight progressions of p (offsets <paramref name="o"/>, bit masks fixed by p mod 30)
    /// in the <paramref name="length"/> bytes at <paramref name="s"/>, and leaves the offsets relative to the next span.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void CrossOff<TMasks>(ref byte s, int length, int p, ref int o)
        where TMasks : struct, IWheelMasks
    {
        nint o0 = o, o1 = Unsafe.Add(ref o, 1), o2 = Unsafe.Add(ref o, 2), o3 = Unsafe.Add(ref o, 3);
        nint o4 = Unsafe.Add(ref o, 4), o5 = Unsafe.Add(ref o, 5), o6 = Unsafe.Add(ref o, 6), o7 = Unsafe.Add(ref o, 7);

        // The eight offsets always lie within one window of p bytes, so while the largest is inside the
        // span all eight are, and one loop step crosses off a whole turn of the wheel.
        var max = Math.Max(Math.Max(Math.Max(o0, o1), Math.Max(o2, o3)), Math.Max(Math.Max(o4, o5), Math.Max(o6, o7)));
        // (An index, not a moving reference: a reference may not point outside the array, even between uses.)
        nint t = 0;
        nint step = p;
        for (var end = length - max; t < end; t += step)
        {
            ref var q = ref Unsafe.Add(ref s, t);
            Unsafe.Add(ref q, o0) &= TMasks.M0;
            Unsafe.Add(ref q, o1) &= TMasks.M1;
            Unsafe.Add(ref q, o2) &= TMasks.M2;
            Unsafe.Add(ref q, o3) &= TMasks.M3;
            Unsafe.Add(ref q, o4) &= TMasks.M4;
            Unsafe.Add(ref q, o5) &= TMasks.M5;
            Unsafe.Add(ref q, o6) &= TMasks.M6;
            Unsafe.Add(ref q, o7) &= TMasks.M7;
        }

        // Now each progression has at most one hit left in the span: take it without branching.
        o = Last(ref s, length, step, o0 + t, TMasks.M0);
        Unsafe.Add(ref o, 1) = Last(ref s, length, step, o1 + t, TMasks.M1);
        Unsafe.Add(ref o, 2) = Last(ref s, length, step, o2 + t, TMasks.M2);
        Unsafe.Add(ref o, 3) = Last(ref s, length, step, o3 + t, TMasks.M3);
        Unsafe.Add(ref o, 4) = Last(ref s, length, step, o4 + t, TMasks.M4);
        Unsafe.Add(ref o, 5) = Last(ref s, length, step, o5 + t, TMasks.M5);
        Unsafe.Add(ref o, 6) = Last(ref s, length, step, o6 + t, TMasks.M6);
        Unsafe.Add(ref o, 7) = Last(ref s, length, step, o7 + t, TMasks.M7);
    }

    /// <summary>Clears bit <paramref name="mask"/> at x if x is inside the span (else touches the spare byte with no change); returns the next offset relative to the next span.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Last(ref byte s, int length, nint p, nint x, byte mask)
    {
        var past = x - length;
        var inside = past >> 63; // all ones when x < length
        Unsafe.Add(ref s, length + (past & inside)) &= (byte)(mask | ~(int)inside);
        return (int)(past + (p & inside));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FillPresieve(Span<byte> chunk, long position)
    {
        for (var t = 0; t < PresieveTables.Length; t++)
        {
            var table = PresieveTables[t];
            var offset = (int)(position % table.Length);
            var done = 0;
            while (done < chunk.Length)
            {
                var run = Math.Min(table.Length - offset, chunk.Length - done);
                if (t == 0)
                {
                    table.AsSpan(offset, run).CopyTo(chunk[done..]);
                }
                else
                {
                    AndInto(chunk.Slice(done, run), table.AsSpan(offset, run));
                }
                done += run;
                offset = 0;
            }
        }
    }

    /// <summary>destination[i] &amp;= source[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AndInto(Span<byte> destination, ReadOnlySpan<byte> source)
    {
        ref var d = ref MemoryMarshal.GetReference(destination);
        ref var s = ref MemoryMarshal.GetReference(source);
        var length = destination.Length;
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + (2 * Vector256<byte>.Count) <= length; i += 2 * Vector256<byte>.Count)
            {
                (Vector256.LoadUnsafe(ref d, (nuint)i) & Vector256.LoadUnsafe(ref s, (nuint)i)).StoreUnsafe(ref d, (nuint)i);
                (Vector256.LoadUnsafe(ref d, (nuint)i + 32) & Vector256.LoadUnsafe(ref s, (nuint)i + 32)).StoreUnsafe(ref d, (nuint)i + 32);
            }
        }
        for (; i + sizeof(ulong) <= length; i += sizeof(ulong))
        {
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref d, i), Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref d, i)) & Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref s, i)));
        }
        for (; i < length; i++)
        {
            Unsafe.Add(ref d, i) &= Unsafe.Add(ref s, i);
        }
    }

    /// <summary>One period of the wheel bytes with the multiples of <paramref name="primes"/> crossed off.</summary>
    private static byte[] BuildPresievePattern(int[] primes)
    {
        var period = 1;
        foreach (var p in primes) period *= p;
        var pattern = new byte[period];
        pattern.AsSpan().Fill(0xFF);
        foreach (var p in primes)
        {
            // The multiples of p with residue Residues[b] sit in every p-th byte from the first one found.
            for (var b = 0; b < 8; b++)
            {
                var first = 0;
                while ((30 * first + Residues[b]) % p != 0) first++;
                for (var i = first; i < period; i += p)
                {
                    pattern[i] &= (byte)~(1 << b);
                }
            }
        }
        return pattern;
    }

    /// <summary>Mask of the bits of a wheel byte whose residue is at most <paramref name="remainder"/>.</summary>
    private static byte KeepUpTo(int remainder)
    {
        byte keep = 0;
        for (var b = 0; b < 8; b++)
        {
            if (Residues[b] <= remainder) keep |= (byte)(1 << b);
        }
        return keep;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static long PopCount(ReadOnlySpan<byte> bytes)
    {
        long count = 0;
        var words = MemoryMarshal.Cast<byte, ulong>(bytes);
        foreach (var word in words)
        {
            count += BitOperations.PopCount(word);
        }
        foreach (var b in bytes[(words.Length * sizeof(ulong))..])
        {
            count += BitOperations.PopCount(b);
        }
        return count;
    }

    /// <summary>The primes in [<paramref name="from"/>, <paramref name="limit"/>], by a plain sieve (limit is at most 10^6).</summary>
    internal static int[] SmallPrimes(int limit, int from)
    {
        if (limit < 2) return [];
        var composite = new bool[limit + 1];
        var primes = new List<int>();
        for (var i = 2; i <= limit; i++)
        {
            if (composite[i]) continue;
            if (i >= from) primes.Add(i);
            for (var j = (long)i * i; j <= limit; j += i)
            {
                composite[j] = true;
            }
        }
        return [.. primes];
    }

    internal static int IntegerSqrt(long n)
    {
        var r = (long)Math.Sqrt(n);
        while (r * r > n) r--;
        while ((r + 1) * (r + 1) <= n) r++;
        return (int)r;
    }

    /// <summary>The eight bit masks of a prime's progressions, which depend only on the prime mod 30.</summary>
    private interface IWheelMasks
    {
        static abstract byte M0 { get; }
        static abstract byte M1 { get; }
        static abstract byte M2 { get; }
        static abstract byte M3 { get; }
        static abstract byte M4 { get; }
        static abstract byte M5 { get; }
        static abstract byte M6 { get; }
        static abstract byte M7 { get; }
    }

    // Progression k of a prime p clears the bit of p * Residues[k] (mod 30) in every byte it hits.
    private readonly struct Residue1 : IWheelMasks
    {
        public static byte M0 => 0xFE; public static byte M1 => 0xFD; public static byte M2 => 0xFB; public static byte M3 => 0xF7;
        public static byte M4 => 0xEF; public static byte M5 => 0xDF; public static byte M6 => 0xBF; public static byte M7 => 0x7F;
    }

    private readonly struct Residue7 : IWheelMasks
    {
        public static byte M0 => 0xFD; public static byte M1 => 0xDF; public static byte M2 => 0xEF; public static byte M3 => 0xFE;
        public static byte M4 => 0x7F; public static byte M5 => 0xF7; public static byte M6 => 0xFB; public static byte M7 => 0xBF;
    }

    private readonly struct Residue11 : IWheelMasks
    {
        public static byte M0 => 0xFB; public static byte M1 => 0xEF; public static byte M2 => 0xFE; public static byte M3 => 0xBF;
        public static byte M4 => 0xFD; public static byte M5 => 0x7F; public static byte M6 => 0xF7; public static byte M7 => 0xDF;
    }

    private readonly struct Residue13 : IWheelMasks
    {
        public static byte M0 => 0xF7; public static byte M1 => 0xFE; public static byte M2 => 0xBF; public static byte M3 => 0xDF;
        public static byte M4 => 0xFB; public static byte M5 => 0xFD; public static byte M6 => 0x7F; public static byte M7 => 0xEF;
    }

    private readonly struct Residue17 : IWheelMasks
    {
        public static byte M0 => 0xEF; public static byte M1 => 0x7F; public static byte M2 => 0xFD; public static byte M3 => 0xFB;
        public static byte M4 => 0xDF; public static byte M5 => 0xBF; public static byte M6 => 0xFE; public static byte M7 => 0xF7;
    }

    private readonly struct Residue19 : IWheelMasks
    {
        public static byte M0 => 0xDF; public static byte M1 => 0xF7; public static byte M2 => 0x7F; public static byte M3 => 0xFD;
        public static byte M4 => 0xBF; public static byte M5 => 0xFE; public static byte M6 => 0xEF; public static byte M7 => 0xFB;
    }

    private readonly struct Residue23 : IWheelMasks
    {
        public static byte M0 => 0xBF; public static byte M1 => 0xFB; public static byte M2 => 0xF7; public static byte M3 => 0x7F;
        public static byte M4 => 0xFE; public static byte M5 => 0xEF; public static byte M6 => 0xDF; public static byte M7 => 0xFD;
    }

    private readonly struct Residue29 : IWheelMasks
    {
        public static byte M0 => 0x7F; public static byte M1 => 0xBF; public static byte M2 => 0xDF; public static byte M3 => 0xEF;
        public static byte M4 => 0xF7; public static byte M5 => 0xFB; public static byte M6 => 0xFD; public static byte M7 => 0xFE;
    }
}
