using System.Buffers.Binary;
using System.Security.Cryptography;

namespace CloudApp.ComputeApi.Kernels;

/// <summary>
/// Hashes n MiB of generated data with SHA-256 (the platform's implementation: OpenSSL on Linux, which uses
/// the CPU's SHA extensions). MiB number i is its index as 8 little-endian bytes followed by the first
/// 1 MiB - 8 bytes of a fixed pseudo-random block, so every MiB differs and nothing is held but that block.
/// </summary>
public sealed class Sha256Kernel : IComputeKernel
{
    public const string KernelName = "sha256";

    internal const int MiB = 1024 * 1024;
    internal const ulong Seed = 0x5EED;

    private static readonly Lazy<byte[]> Block = new(() => GenerateBlock(Seed));

    public string Name => KernelName;
    public string Description => "SHA-256 of n MiB of deterministic generated data; returns the hex digest.";
    public string SizeMeaning => "MiB of data to hash";
    public long HardMaxSize => 1024 * 1024; // 1 TiB: memory does not grow with n, only time does
    public KernelLimits DefaultLimits => new() { DefaultSize = 64, MaxSize = 1024 };
    public string ResultMeaning => "the SHA-256 digest of the data, as 64 hex digits (a string)";
    public string WorkUnit => "bytes";

    public KernelOutput Run(long size, KernelContext context)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, HardMaxSize);

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        ForEachMiB(size, (index, block) =>
        {
            context.ThrowIfCancellationRequested();
            hash.AppendData(index);
            hash.AppendData(block);
            context.ReportWork(MiB);
        });
        return new KernelOutput(Convert.ToHexStringLower(hash.GetHashAndReset()), size * MiB);
    }

    /// <summary>Writes the exact bytes that are hashed for <paramref name="size"/> MiB (used to check against other tools).</summary>
    public static void WriteData(long size, Stream destination) =>
        ForEachMiB(size, (index, block) =>
        {
            destination.Write(index);
            destination.Write(block);
        });

    /// <summary>The data, one MiB at a time: its index as 8 little-endian bytes, then the rest of the fixed block.</summary>
    private static void ForEachMiB(long size, Action<ReadOnlySpan<byte>, ReadOnlySpan<byte>> mib)
    {
        var block = Block.Value.AsSpan(0, MiB - sizeof(ulong));
        Span<byte> index = stackalloc byte[sizeof(ulong)];
        for (long i = 0; i < size; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(index, (ulong)i);
            mib(index, block);
        }
    }

    internal static byte[] GenerateBlock(ulong seed)
    {
        var block = new byte[MiB];
        for (var i = 0; i < MiB / sizeof(ulong); i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(block.AsSpan(i * sizeof(ulong)), SeededData.SplitMix64(seed, (ulong)i));
        }
        return block;
    }
}
