namespace CloudApp.ComputeApi.Kernels;

/// <summary>
/// A deterministic, single-threaded CPU computation whose cost grows with one size parameter. A kernel is one class
/// and one registration (<c>services.AddSingleton&lt;IComputeKernel, TKernel&gt;()</c>): its name becomes its route and
/// the <c>compute.kernel</c> tag of every compute metric (dashboards and rules select kernels by that label, never by
/// name), its limits the configuration section <c>Compute:{Name}</c>, its descriptions its entry in <c>/api/kernels</c>.
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

    /// <summary>What <see cref="KernelOutput.Result"/> is, e.g. "the number of primes up to n".</summary>
    string ResultMeaning { get; }

    /// <summary>
    /// What <see cref="KernelOutput.Work"/> counts, plural (e.g. "numbers", "bytes"): the unit in answers and the
    /// <c>compute.work.unit</c> tag of the work counter, whose rate is the kernel's throughput.
    /// </summary>
    string WorkUnit { get; }

    /// <summary>
    /// Sizes up to this one finish in well under a millisecond and run on the request's own thread: handing a job
    /// of a few microseconds to a compute worker thread and back costs two thread wake-ups, more than the job.
    /// They still take a compute slot, report their metrics and honour cancellation. 0 (the default): never.
    /// </summary>
    long InlineMaxSize => 0;

    KernelOutput Run(long size, KernelContext context);
}

/// <summary>Sizes one kernel accepts: the size used when a request names none, and the largest allowed.</summary>
public sealed class KernelLimits
{
    public long DefaultSize { get; set; }

    public long MaxSize { get; set; }
}

/// <summary>What a kernel computed, and how much work (in <see cref="IComputeKernel.WorkUnit"/>) it took.</summary>
public readonly record struct KernelOutput(KernelResult Result, long Work);

/// <summary>Cancellation and progress reporting handed to a running kernel.</summary>
public sealed class KernelContext(CancellationToken cancellationToken, Action<long>? onWork = null)
{
    public static KernelContext None { get; } = new(CancellationToken.None);

    public CancellationToken CancellationToken { get; } = cancellationToken;

    /// <summary>Reports work done since the last report, so throughput metrics move while a long job runs.</summary>
    public void ReportWork(long amount) => onWork?.Invoke(amount);

    public void ThrowIfCancellationRequested() => CancellationToken.ThrowIfCancellationRequested();
}
