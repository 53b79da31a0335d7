using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace CloudApp.ComputeApi.Kernels;

/// <summary>
/// Counts the primes up to n with a segmented sieve of Eratosthenes on a mod-30 wheel: one byte holds the
/// eight numbers 30k + {1, 7, 11, 13, 17, 19, 23, 29}, so multiples of 2, 3 and 5 never take memory or time.
/// Memory stays bounded by one segment plus the sieving primes up to sqrt(n), whatever n is.
/// </summary>
public sealed class PrimeCountKernel : IComputeKernel
{
    public const string KernelName = "primes";

    // 64 KiB of sieve (about two million numbers) per segment: small enough to stay in the L2 cache,
    // large enough that every sieving prime up to sqrt(10^10) hits each segment, and a cancellation
    // check about every millisecond.
    internal const int SegmentBytes = 64 * 1024;

    // 7 * 11 * 13 * 17 bytes: the pattern of these four primes repeats every 510510 numbers,
    // so segments start from a copy of it instead of crossing them off again.
    private const int PresievePeriod = 7 * 11 * 13 * 17;
    private const int FirstSievingPrime = 19;

    private static ReadOnlySpan<byte> Residues => [1, 7, 11, 13, 17, 19, 23, 29];

    // Bit index of each residue mod 30 in a wheel byte, -1 for residues sharing a factor with 30.
    private static ReadOnlySpan<sbyte> BitOfResidue =>
    [
        -1, 0, -1, -1, -1, -1, -1, 1, -1, -1, -1, 2, -1, 3, -1, -1,
        -1, 4, -1, 5, -1, -1, -1, 6, -1, -1, -1, -1, -1, 7,
    ];

    private static readonly long[] PrimesBelowFirstSievingPrime = [2, 3, 5, 7, 11, 13, 17];
    private static readonly byte[] Presieve = BuildPresievePattern();

    public string Name => KernelName;
    public string Description => "Counts the primes <= n with a segmented, wheel-factorized sieve of Eratosthenes.";
    public string SizeMeaning => "count primes up to n";
    public string WorkUnit => "numbers";
    public long HardMaxSize => 1_000_000_000_000;

    public KernelOutput Run(long size, KernelContext context)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, HardMaxSize);
        return new KernelOutput(CountPrimes(size, context), size);
    }

    /// <summary>pi(n): the number of primes less than or equal to n.</summary>
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
        // Each prime crosses off eight progressions (one per wheel residue of its cofactor), each stepping
        // p bytes; offsets are relative to the current segment and masks clear the progression's bit.
        var offsets = new int[sievingPrimes.Length * 8];
        var masks = new byte[sievingPrimes.Length * 8];
        var active = 0;

        var segment = new byte[SegmentBytes];
        var lastByte = n / 30;
        var totalBytes = lastByte + 1;
        long reported = 0;

        for (long low = 0; low < totalBytes; low += SegmentBytes)
        {
            context.ThrowIfCancellationRequested();
            var length = (int)Math.Min(SegmentBytes, totalBytes - low);
            var sieve = segment.AsSpan(0, length);
            FillPresieve(sieve, low);
            if (low == 0)
            {
                sieve[0] &= 0xFE; // 1 is not prime
            }

            // A prime starts crossing off at p * p, so it joins once that square falls in the current segment.
            var segmentEndNumber = (low + length) * 30;
            while (active < sievingPrimes.Length && (long)sievingPrimes[active] * sievingPrimes[active] < segmentEndNumber)
            {
                StartPrime(sievingPrimes[active], low, offsets.AsSpan(active * 8, 8), masks.AsSpan(active * 8, 8));
                active++;
            }

            for (var i = 0; i < active; i++)
            {
                CrossOff(sieve, sievingPrimes[i], offsets.AsSpan(i * 8, 8), masks.AsSpan(i * 8, 8));
            }

            if (low + length == totalBytes)
            {
                sieve[length - 1] &= KeepUpTo((int)(n % 30));
            }
            count += PopCount(sieve);

            var covered = Math.Min(n, segmentEndNumber - 1);
            context.ReportWork(covered - reported);
            reported = covered;
        }

        return count;
    }

    private static void StartPrime(int p, long segmentLow, Span<int> offsets, Span<byte> masks)
    {
        // The cofactors m >= p that are coprime to 30, one per residue class: p * m covers every multiple
        // of p in the wheel that no smaller prime has crossed off, and m + 30 moves p * m by exactly p bytes.
        var pm = p % 30;
        for (var k = 0; k < 8; k++)
        {
            var m = p + ((Residues[k] - pm + 30) % 30);
            var multiple = (long)p * m;
            offsets[k] = (int)(multiple / 30 - segmentLow);
            masks[k] = (byte)~(1 << BitOfResidue[(int)(multiple % 30)]);
        }
    }

    private static void CrossOff(Span<byte> sieve, int p, Span<int> offsets, ReadOnlySpan<byte> masks)
    {
        ref var s = ref MemoryMarshal.GetReference(sieve);
        var length = sieve.Length;
        int o0 = offsets[0], o1 = offsets[1], o2 = offsets[2], o3 = offsets[3];
        int o4 = offsets[4], o5 = offsets[5], o6 = offsets[6], o7 = offsets[7];
        byte m0 = masks[0], m1 = masks[1], m2 = masks[2], m3 = masks[3];
        byte m4 = masks[4], m5 = masks[5], m6 = masks[6], m7 = masks[7];

        // The eight offsets always lie within one window of p bytes, so while the largest is inside the
        // segment all eight are, and one loop step crosses off a whole turn of the wheel.
        var max = Math.Max(Math.Max(Math.Max(o0, o1), Math.Max(o2, o3)), Math.Max(Math.Max(o4, o5), Math.Max(o6, o7)));
        var t = 0;
        for (var end = length - max; t < end; t += p)
        {
            Unsafe.Add(ref s, o0 + t) &= m0;
            Unsafe.Add(ref s, o1 + t) &= m1;
            Unsafe.Add(ref s, o2 + t) &= m2;
            Unsafe.Add(ref s, o3 + t) &= m3;
            Unsafe.Add(ref s, o4 + t) &= m4;
            Unsafe.Add(ref s, o5 + t) &= m5;
            Unsafe.Add(ref s, o6 + t) &= m6;
            Unsafe.Add(ref s, o7 + t) &= m7;
        }

        for (var k = 0; k < 8; k++)
        {
            var x = offsets[k] + t;
            for (; x < length; x += p)
            {
                Unsafe.Add(ref s, x) &= masks[k];
            }
            offsets[k] = x - length;
        }
    }

    private static void FillPresieve(Span<byte> sieve, long low)
    {
        var position = (int)(low % PresievePeriod);
        var filled = 0;
        while (filled < sieve.Length)
        {
            var chunk = Math.Min(PresievePeriod - position, sieve.Length - filled);
            Presieve.AsSpan(position, chunk).CopyTo(sieve[filled..]);
            filled += chunk;
            position = 0;
        }
    }

    private static byte[] BuildPresievePattern()
    {
        var pattern = new byte[PresievePeriod];
        for (var i = 0; i < pattern.Length; i++)
        {
            byte bits = 0;
            for (var b = 0; b < 8; b++)
            {
                var number = 30L * i + Residues[b];
                if (number % 7 != 0 && number % 11 != 0 && number % 13 != 0 && number % 17 != 0)
                {
                    bits |= (byte)(1 << b);
                }
            }
            pattern[i] = bits;
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
}
