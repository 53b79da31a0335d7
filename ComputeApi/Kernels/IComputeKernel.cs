namespace CloudApp.ComputeApi.Kernels;

/// <summary>
/// A deterministic, single-threaded CPU computation whose cost grows with one size parameter.
/// Implementations check <see cref="KernelContext.CancellationToken"/> at least every few milliseconds of work.
/// </summary>
public interface IComputeKernel
{
    /// <summary>Lower-case name used in routes and as the <c>compute.kernel</c> metric tag.</summary>
    string Name { get; }

    string Description { get; }

    /// <summary>What the size means, e.g. "count primes up to n".</summary>
    string SizeMeaning { get; }

    /// <summary>Unit of <see cref="KernelOutput.Work"/>, e.g. "numbers", "flop", "bytes".</summary>
    string WorkUnit { get; }

    /// <summary>Largest size the implementation can run in bounded memory; configured limits may only be lower.</summary>
    long HardMaxSize { get; }

    KernelOutput Run(long size, KernelContext context);
}

/// <summary>What a kernel computed, and how much work (in <see cref="IComputeKernel.WorkUnit"/>) it took.</summary>
public readonly record struct KernelOutput(object Result, long Work);

/// <summary>Cancellation and progress reporting handed to a running kernel.</summary>
public sealed class KernelContext(CancellationToken cancellationToken, Action<long>? onWork = null)
{
    public static KernelContext None { get; } = new(CancellationToken.None);

    public CancellationToken CancellationToken { get; } = cancellationToken;

    /// <summary>Reports work done since the last report, so throughput metrics move while a long job runs.</summary>
    public void ReportWork(long amount) => onWork?.Invoke(amount);

    public void ThrowIfCancellationRequested() => CancellationToken.ThrowIfCancellationRequested();
}
