using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Options;

namespace CloudApp.ComputeApi;

/// <summary>Configuration section <c>Compute</c>: how much work the service accepts and runs at once.</summary>
public sealed class ComputeOptions
{
    public const string SectionName = "Compute";

    // ComputeOptionsValidator is generated at build time and checks these ranges with its own copy of the
    // attribute; DataAnnotations' reflection-based RangeAttribute (which trimming may break) never runs.
    private const string TimeSpanRangeIsCheckedByGeneratedCode = "Read only by the generated ComputeOptionsValidator.";

    /// <summary>Kernels that run at the same time; 0 means one per processor the process may use.</summary>
    [Range(0, 1024)]
    public int MaxConcurrency { get; set; }

    /// <summary>Requests that may wait for a free slot; beyond that the service answers 429.</summary>
    [Range(0, 100_000)]
    public int QueueLimit { get; set; } = 8;

    /// <summary>Deadline of one compute request, waiting included; past it the kernel stops and the answer is 504.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = TimeSpanRangeIsCheckedByGeneratedCode)]
    [Range(typeof(TimeSpan), "00:00:00.050", "01:00:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Value of the Retry-After header sent with 429.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = TimeSpanRangeIsCheckedByGeneratedCode)]
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Nice value of the kernel threads on Linux (0 to 19; higher is lower priority), so request handling, scrapes
    /// and probes win the CPU over running kernels. 0 leaves them at normal priority.
    /// </summary>
    [Range(0, 19)]
    public int KernelNiceness { get; set; } = 10;

    /// <summary>The concurrency actually used: <see cref="MaxConcurrency"/>, or the processor count when it is 0.</summary>
    public int EffectiveConcurrency => MaxConcurrency > 0 ? MaxConcurrency : Environment.ProcessorCount;
}

[OptionsValidator]
public sealed partial class ComputeOptionsValidator : IValidateOptions<ComputeOptions>;
