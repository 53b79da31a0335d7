using CloudApp.ComputeApi.Kernels;

namespace CloudApp.ComputeApi.Jobs;

/// <summary>
/// What became of one compute request: exactly one of the cases below, each carrying what its answer needs. The
/// HTTP layer maps each case to one status; nothing else decides it.
/// </summary>
public abstract record ComputeResult
{
    private ComputeResult()
    {
    }

    /// <summary>The kernel ran to its result.</summary>
    public sealed record Completed(string Kernel, long Size, KernelOutput Output, string WorkUnit, TimeSpan Elapsed) : ComputeResult;

    /// <summary>No kernel has this name; <paramref name="Known"/> are the ones there are.</summary>
    public sealed record UnknownKernel(string Name, IReadOnlyList<string> Known) : ComputeResult;

    /// <summary>The size is not a whole number from 1 to <paramref name="Maximum"/>; <paramref name="Error"/> says which rule it broke.</summary>
    public sealed record InvalidSize(string Kernel, long Maximum, string Error) : ComputeResult;

    /// <summary>Every slot was busy and the queue full.</summary>
    public sealed record QueueFull(string Kernel) : ComputeResult;

    /// <summary>The job needed more working memory than the process has room for under its memory limit.</summary>
    public sealed record MemoryUnavailable(string Kernel, long Size, long RequiredBytes, long UsedBytes, long LimitBytes) : ComputeResult;

    /// <summary>The request's deadline passed, waiting or running; the job was stopped.</summary>
    public sealed record TimedOut(string Kernel) : ComputeResult;

    /// <summary>The client went away, waiting or running; the job was stopped.</summary>
    public sealed record Cancelled(string Kernel) : ComputeResult;
}
