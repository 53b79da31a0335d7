using System.Buffers;
using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace CloudApp.ComputeApi.Kernels;

/// <summary>
/// Counts the primes up to n with a segmented sieve of Eratosthenes on a mod-30 wheel: one byte holds the
/// eight numbers 30k + {1, 7, 11, 13, 17, 19, 23, 29}, so multiples of 2, 3 and 5 never take memory or time.
/// Each chunk starts as the AND of precomputed patterns of the primes 7 to 211, so the sieve crosses off
/// only primes from 223 up to sqrt(n): the small ones an L1-cache-sized chunk at a time, the others over the
/// whole (L2-sized) segment. Memory stays bounded by one segment plus the sieving primes up to sqrt(n).
/// </summary>
public sealed class PrimeCountKernel : IComputeKernel
{
    public const string KernelName = "primes";

    // 128 KiB of sieve (about 3.9 million numbers) per segment: it stays in the L2 cache beside the presieve
    // patterns, every sieving prime up to sqrt(10^10) hits it at least once per progression, and a cancellation
    // check comes about every millisecond. Measured at 10^10 against 64, 96, 192, 256 and 512 KiB: 96 and 128 KiB
    // were fastest, about 12% faster than 256 KiB.
    internal const int SegmentBytes = 128 * 1024;

    // Primes below a fifth of the chunk size cross off one chunk of the segment, as large as this CPU's L1 data
    // cache, at a time (each hits a chunk at least five times per progression); larger ones cross off the whole
    // segment at once.
    internal static readonly int ChunkBytes = L1DataCacheBytes("/sys/devices/system/cpu/cpu0/cache");

    // Groups of presieved primes: the pattern of a group repeats every (product of the group) bytes, and a
    // chunk starts as the AND of all patterns instead of crossing these primes off again.
    private static readonly int[][] PresieveGroups =
    [
        [7, 11, 13, 17], [19, 23, 29], [31, 37, 41], [43, 47], [53, 59], [61, 67], [71, 73], [79, 83], [89, 97],
        [101, 103], [107, 109], [113, 127], [131, 137], [139, 149], [151, 157], [163, 167],
        [173, 179], [181, 191], [193, 197], [199, 211],
    ];
    private const int FirstSievingPrime = 223;

    // The patterns are ANDed a block at a time (all of them into one block while it is in the L1 cache); each
    // pattern is stored with one block more than its period, so a block reads it at any phase without wrapping.
    private const int PresieveBlock = 4096;

    // The fill writes whole vectors, up to this many bytes past a chunk: into the next chunk, which is filled
    // after, or into the spare bytes past the segment.
    private const int SpareBytes = 64;

    private static ReadOnlySpan<byte> Residues => [1, 7, 11, 13, 17, 19, 23, 29];

    // Bit index of each residue mod 30 in a wheel byte, -1 for residues sharing a factor with 30.
    private static ReadOnlySpan<sbyte> BitOfResidue =>
    [
        -1, 0, -1, -1, -1, -1, -1, 1, -1, -1, -1, 2, -1, 3, -1, -1,
        -1, 4, -1, 5, -1, -1, -1, 6, -1, -1, -1, -1, -1, 7,
    ];

    private static readonly int[] PrimesBelowFirstSievingPrime = SmallPrimes(FirstSievingPrime - 1, 2);
    private static readonly PresievePattern[] PresievePatterns = [.. PresieveGroups.Select(BuildPresievePattern)];

    public string Name => KernelName;
    public string Description => "Counts the primes <= n with a segmented, wheel-factorized sieve of Eratosthenes.";
    public string SizeMeaning => "count primes up to n";
    public long HardMaxSize => 1_000_000_000_000;

    /// <summary>Up to a million: about 0.1 ms.</summary>
    public long InlineMaxSize => 1_000_000;
    public KernelLimits DefaultLimits => new() { DefaultSize = 10_000_000, MaxSize = 10_000_000_000 };
    public string ResultMeaning => "the number of primes up to n (a number)";
    public string WorkUnit => "numbers";

    public KernelOutput Run(long size, KernelContext context)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, HardMaxSize);
        return new KernelOutput(CountPrimes(size, context), size);
    }

    /// <summary>
    /// The L1 data cache size that Linux reports under <paramref name="cacheDirectory"/> (index*/level, type,
    /// size), between 16 and 256 KiB in whole 4 KiB; 32 KiB where it reports none (another OS, a hidden /sys).
    /// </summary>
    internal static int L1DataCacheBytes(string cacheDirectory)
    {
        const int Fallback = 32 * 1024;
        try
        {
            foreach (var index in Directory.EnumerateDirectories(cacheDirectory, "index*"))
            {
                string Read(string name) => File.ReadAllText(Path.Combine(index, name)).Trim();
                if (Read("level") != "1" || Read("type") != "Data") continue;
                var size = Read("size");
                if (!size.EndsWith('K') || !int.TryParse(size[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var kib)) return Fallback;
                return Math.Clamp(kib / 4 * 4, 16, 256) * 1024;
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return Fallback;
    }

    /// <summary>pi(n): the number of primes less than or equal to n.</summary>
    public static long CountPrimes(long n, KernelContext context) => CountPrimes(n, context, ChunkBytes);

    /// <summary>pi(n), with chunks of <paramref name="chunkBytes"/> for the small sieving primes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static long CountPrimes(long n, KernelContext context, int chunkBytes)
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

        // The sieving primes grouped by residue class (p mod 30), ascending within each class: the masks of a
        // prime's eight progressions depend only on its class, so one loop per class crosses off with constant
        // masks, without a dispatch per prime that the branch predictor cannot learn.
        var ascending = SmallPrimes(IntegerSqrt(n), FirstSievingPrime);
        var classStart = new int[9];
        foreach (var p in ascending) classStart[BitOfResidue[p % 30] + 1]++;
        for (var c = 0; c < 8; c++) classStart[c + 1] += classStart[c];
        var primes = new int[ascending.Length];
        var placed = classStart[..8];
        foreach (var p in ascending) primes[placed[BitOfResidue[p % 30]]++] = p;
        // In each class: [classStart, chunkEnd) cross off a chunk at a time, [chunkEnd, next class) a segment at a
        // time, and [classStart, active) have started (their square lies below the current segment's end).
        var chunkEnd = new int[8];
        var active = new int[8];
        for (var c = 0; c < 8; c++)
        {
            active[c] = chunkEnd[c] = classStart[c];
            while (chunkEnd[c] < classStart[c + 1] && primes[chunkEnd[c]] < chunkBytes / 5) chunkEnd[c]++;
        }

        // Each prime crosses off eight progressions (one per wheel residue of its cofactor), each stepping
        // p bytes; offsets are relative to the start of the span being sieved next.
        var offsets = new int[primes.Length * 8];

        var lastByte = n / 30;
        var totalBytes = lastByte + 1;
        long reported = 0;

        // Spare bytes past the end: the branch-free tails of the crossing loops AND the first with 0xFF when a
        // progression has no hit left, and the fill may overrun into them. Pooled, and no larger than n needs: a
        // fresh segment array per job would land on the large object heap and cost small jobs more than their sieving.
        var segment = ArrayPool<byte>.Shared.Rent((int)Math.Min(SegmentBytes, totalBytes) + SpareBytes);
        try
        {
            for (long low = 0; low < totalBytes; low += SegmentBytes)
            {
                context.ThrowIfCancellationRequested();
                var length = (int)Math.Min(SegmentBytes, totalBytes - low);

                // A prime starts crossing off at p * p, so it joins once that square falls in the current segment.
                var segmentEndNumber = (low + length) * 30;
                for (var c = 0; c < 8; c++)
                {
                    ref var next = ref active[c];
                    while (next < classStart[c + 1] && (long)primes[next] * primes[next] < segmentEndNumber)
                    {
                        StartPrime(primes[next], low, offsets.AsSpan(next * 8, 8));
                        next++;
                    }
                }

                for (var start = 0; start < length; start += chunkBytes)
                {
                    var chunkLength = Math.Min(chunkBytes, length - start);
                    var chunk = segment.AsSpan(start, chunkLength);
                    FillPresieve(chunk, low + start);
                    for (var c = 0; c < 8; c++)
                    {
                        CrossOffClass(c, chunk, primes, offsets, classStart[c], Math.Min(active[c], chunkEnd[c]));
                    }
                }
                for (var c = 0; c < 8; c++)
                {
                    CrossOffClass(c, segment.AsSpan(0, length), primes, offsets, chunkEnd[c], active[c]);
                }

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

    /// <summary>Crosses off primes [from, to), all of residue class <paramref name="c"/>, over <paramref name="sieve"/> (followed by one spare byte).</summary>
    private static void CrossOffClass(int c, Span<byte> sieve, int[] primes, int[] offsets, int from, int to)
    {
        switch (c)
        {
            case 0: CrossOffRange<Residue1>(sieve, primes, offsets, from, to); break;
            case 1: CrossOffRange<Residue7>(sieve, primes, offsets, from, to); break;
            case 2: CrossOffRange<Residue11>(sieve, primes, offsets, from, to); break;
            case 3: CrossOffRange<Residue13>(sieve, primes, offsets, from, to); break;
            case 4: CrossOffRange<Residue17>(sieve, primes, offsets, from, to); break;
            case 5: CrossOffRange<Residue19>(sieve, primes, offsets, from, to); break;
            case 6: CrossOffRange<Residue23>(sieve, primes, offsets, from, to); break;
            default: CrossOffRange<Residue29>(sieve, primes, offsets, from, to); break;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe void CrossOffRange<TMasks>(Span<byte> sieve, int[] primes, int[] offsets, int from, int to)
        where TMasks : struct, IWheelMasks
    {
        ref var o = ref MemoryMarshal.GetArrayDataReference(offsets);
        ref var p = ref MemoryMarshal.GetArrayDataReference(primes);
        // Pinned: the crossing loop walks a raw pointer, which may run past the sieve between uses.
        fixed (byte* s = sieve)
        {
            for (nint i = from; i < to; i++)
            {
                CrossOff<TMasks>(s, sieve.Length, Unsafe.Add(ref p, i), ref Unsafe.Add(ref o, i * 8));
            }
        }
    }

    /// <summary>
    /// Crosses off the eight progressions of p (offsets <paramref name="o"/>, bit masks fixed by p mod 30)
    /// in the <paramref name="length"/> bytes at <paramref name="s"/>, and leaves the offsets relative to the next span.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void CrossOff<TMasks>(byte* s, int length, int p, ref int o)
        where TMasks : struct, IWheelMasks
    {
        nint o0 = o, o1 = Unsafe.Add(ref o, 1), o2 = Unsafe.Add(ref o, 2), o3 = Unsafe.Add(ref o, 3);
        nint o4 = Unsafe.Add(ref o, 4), o5 = Unsafe.Add(ref o, 5), o6 = Unsafe.Add(ref o, 6), o7 = Unsafe.Add(ref o, 7);

        // The eight offsets always lie within one window of p bytes, so while the largest is inside the
        // span all eight are, and one loop step crosses off a whole turn of the wheel. Each byte is read and
        // written as two expressions (not &=): the JIT then folds q + offset into the instruction's address.
        var max = Larger(Larger(Larger(o0, o1), Larger(o2, o3)), Larger(Larger(o4, o5), Larger(o6, o7)));
        var q = s;
        for (var end = s + (length - max); q < end; q += p)
        {
            q[o0] = (byte)(q[o0] & TMasks.M0);
            q[o1] = (byte)(q[o1] & TMasks.M1);
            q[o2] = (byte)(q[o2] & TMasks.M2);
            q[o3] = (byte)(q[o3] & TMasks.M3);
            q[o4] = (byte)(q[o4] & TMasks.M4);
            q[o5] = (byte)(q[o5] & TMasks.M5);
            q[o6] = (byte)(q[o6] & TMasks.M6);
            q[o7] = (byte)(q[o7] & TMasks.M7);
        }

        // Now each progression has at most one hit left in the span: take it without branching.
        var t = (nint)(q - s);
        o = Last(s, length, p, o0 + t, TMasks.M0);
        Unsafe.Add(ref o, 1) = Last(s, length, p, o1 + t, TMasks.M1);
        Unsafe.Add(ref o, 2) = Last(s, length, p, o2 + t, TMasks.M2);
        Unsafe.Add(ref o, 3) = Last(s, length, p, o3 + t, TMasks.M3);
        Unsafe.Add(ref o, 4) = Last(s, length, p, o4 + t, TMasks.M4);
        Unsafe.Add(ref o, 5) = Last(s, length, p, o5 + t, TMasks.M5);
        Unsafe.Add(ref o, 6) = Last(s, length, p, o6 + t, TMasks.M6);
        Unsafe.Add(ref o, 7) = Last(s, length, p, o7 + t, TMasks.M7);
    }

    /// <summary>
    /// The larger of two offsets, without a branch: which of a prime's progressions lies furthest is different
    /// for every prime, so a compare-and-jump (what Math.Max compiles to here) would be mispredicted half the time.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static nint Larger(nint a, nint b)
    {
        var difference = a - b;
        return a - (difference & (difference >> 63));
    }

    /// <summary>Clears bit <paramref name="mask"/> at x if x is inside the span (else touches the spare byte with no change); returns the next offset relative to the next span.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe int Last(byte* s, int length, nint p, nint x, byte mask)
    {
        var past = x - length;
        var inside = past >> 63; // all ones when x < length
        s[length + (past & inside)] &= (byte)(mask | ~(int)inside);
        return (int)(past + (p & inside));
    }

    /// <summary>Sets each byte of <paramref name="chunk"/> (wheel bytes from <paramref name="position"/> on) to the AND of the patterns.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void FillPresieve(Span<byte> chunk, long position)
    {
        var patterns = PresievePatterns;
        var count = patterns.Length;
        var phase = stackalloc int[count];
        var sources = stackalloc byte*[count];
        for (var t = 0; t < count; t++)
        {
            phase[t] = (int)(position % patterns[t].Period);
        }
        fixed (byte* start = chunk)
        {
            for (var done = 0; done < chunk.Length; done += PresieveBlock)
            {
                var length = Math.Min(PresieveBlock, chunk.Length - done);
                for (var t = 0; t < count; t++)
                {
                    sources[t] = patterns[t].Start + phase[t];
                    // A block may span several periods of a short pattern; subtracting beats dividing here.
                    phase[t] += length;
                    while (phase[t] >= patterns[t].Period) phase[t] -= patterns[t].Period;
                }
                var destination = start + done;
                if (Vector512.IsHardwareAccelerated)
                {
                    for (nint i = 0; i < length; i += Vector512<byte>.Count)
                    {
                        var bytes = Vector512.Load(sources[0] + i);
                        for (var t = 1; t < count; t++)
                        {
                            bytes &= Vector512.Load(sources[t] + i);
                        }
                        bytes.Store(destination + i);
                    }
                }
                else
                {
                    for (nint i = 0; i < length; i += Vector256<byte>.Count)
                    {
                        var bytes = Vector256.Load(sources[0] + i);
                        for (var t = 1; t < count; t++)
                        {
                            bytes &= Vector256.Load(sources[t] + i);
                        }
                        bytes.Store(destination + i);
                    }
                }
            }
        }
    }

    /// <summary>
    /// The wheel bytes with the multiples of <paramref name="primes"/> crossed off: one period, and one block and
    /// one vector more of the same. Pinned, so the fill reads it through a pointer.
    /// </summary>
    private static unsafe PresievePattern BuildPresievePattern(int[] primes)
    {
        var period = 1;
        foreach (var p in primes) period *= p;
        var pattern = GC.AllocateUninitializedArray<byte>(period + PresieveBlock + SpareBytes, pinned: true);
        pattern.AsSpan().Fill(0xFF);
        foreach (var p in primes)
        {
            // The multiples of p with residue Residues[b] sit in every p-th byte from the first one found.
            for (var b = 0; b < 8; b++)
            {
                var first = 0;
                while ((30 * first + Residues[b]) % p != 0) first++;
                for (var i = first; i < pattern.Length; i += p)
                {
                    pattern[i] &= (byte)~(1 << b);
                }
            }
        }
        return new PresievePattern(pattern, (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pattern)), period);
    }

    private sealed unsafe class PresievePattern(byte[] pinned, byte* start, int period)
    {
        /// <summary>Keeps the pinned array alive.</summary>
        public byte[] Pinned { get; } = pinned;
        public byte* Start { get; } = start;
        public int Period { get; } = period;
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
