namespace CloudApp.ComputeApi.Kernels;

/// <summary>
/// A deterministic, single-threaded CPU computation whose cost grows with one size parameter. A kernel is one class
/// and one registration (<c>services.AddSingleton&lt;IComputeKernel, TKernel&gt;()</c>): its name becomes its route and
/// metric tag, its limits the configuration section <c>Compute:{Name}</c>, its work a counter of its own.
/// Implementations check <see cref="KernelContext.CancellationToken"/> at least every few milliseconds of work.
/// </summary>
public interface IComputeKernel
{
    /// <summary>Lower-case name used in routes, as the <c>compute.kernel</c> metric tag and as its configuration section.</summary>
    string Name { get; }

    string Description { get; }

    /// <summary>What the size means, e.g. "count primes up to n".</summary>
    string SizeMeaning { get; }

    /// <summary>Largest size the implementation can run in bounded memory; configured limits may only be lower.</summary>
    long HardMaxSize { get; }

    /// <summary>The sizes used unless configuration (<c>Compute:{Name}:DefaultSize</c>, <c>:MaxSize</c>) says otherwise.</summary>
    KernelLimits DefaultLimits { get; }

    /// <summary>How <see cref="KernelOutput.Work"/> is counted, in answers and as a metric.</summary>
    KernelWork Work { get; }

    /// <summary>
    /// Sizes up to this one finish in well under a millisecond and run on the request's own thread: handing a job
    /// of a few microseconds to a compute worker thread and back costs two thread wake-ups, more than the job.
    /// They still take a compute slot, report their metrics and honour cancellation. 0 (the default): never.
    /// </summary>
    long InlineMaxSize => 0;

    KernelOutput Run(long size, KernelContext context);
}

/// <summary>
/// The work a kernel reports: <paramref name="Unit"/> in API answers (e.g. "numbers"), and a counter
/// <paramref name="MetricName"/> in UCUM <paramref name="MetricUnit"/> whose rate is the kernel's throughput.
/// </summary>
public sealed record KernelWork(string Unit, string MetricName, string MetricUnit, string MetricDescription);

/// <summary>Sizes one kernel accepts: the size used when a request names none, and the largest allowed.</summary>
public sealed class KernelLimits
{
    public long DefaultSize { get; set; }

    public long MaxSize { get; set; }
}

/// <summary>What a kernel computed, and how much work (in <see cref="KernelWork.Unit"/>) it took.</summary>
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
