using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using CloudApp.ComputeApi.Kernels;
using Microsoft.Extensions.Options;

namespace CloudApp.ComputeApi;

/// <summary>
/// Every instrument the compute path records. Names follow the OpenTelemetry conventions (dotted, UCUM units,
/// seconds as doubles); the Prometheus exporter turns <c>compute.job.duration</c> into
/// <c>compute_job_duration_seconds</c> and tag keys such as <c>compute.kernel</c> into <c>compute_kernel</c>.
/// Tag values come from fixed sets (kernel names, outcomes, reasons), never from user input.
/// </summary>
public sealed class ComputeMetrics
{
    public const string MeterName = "CloudApp.Compute";

    public const string JobsName = "compute.jobs";
    public const string JobDurationName = "compute.job.duration";
    public const string JobWaitTimeName = "compute.job.wait_time";
    public const string JobSizeName = "compute.job.size";
    public const string JobsActiveName = "compute.jobs.active";
    public const string JobsWaitingName = "compute.jobs.waiting";
    public const string JobsActiveMaxName = "compute.jobs.active.max";
    public const string JobsWaitingMaxName = "compute.jobs.waiting.max";
    public const string RejectionsName = "compute.rejections";
    public const string KernelSizeMaxName = "compute.kernel.size.max";
    public const string VectorWidthName = "compute.vector.width";
    public const string WorkName = "compute.work";

    public const string KernelTag = "compute.kernel";
    public const string OutcomeTag = "compute.outcome";
    public const string ReasonTag = "compute.rejection.reason";
    public const string WorkUnitTag = "compute.work.unit";

    // 1 ms to 60 s, roughly three buckets per decade, so quantiles of fast and slow kernels both have resolution.
    internal static readonly double[] DurationBuckets =
        [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60];

    // Waiting is zero for most jobs; the small buckets show the first signs of queueing.
    internal static readonly double[] WaitBuckets =
        [0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60];

    // 1-2-5 steps from 1 to 10^10 cover every kernel's sizes (MiB, matrix order, primes limit) in one family.
    internal static readonly long[] SizeBuckets = BuildSizeBuckets();

    private readonly Counter<long> _jobs;
    private readonly Histogram<double> _duration;
    private readonly Histogram<double> _waitTime;
    private readonly Histogram<long> _size;
    private readonly Counter<long> _rejections;
    private readonly ConcurrentDictionary<string, KernelSeries> _kernels = new(StringComparer.Ordinal);

    public ComputeMetrics(IMeterFactory meterFactory, IOptions<ComputeOptions> options, IEnumerable<IComputeKernel> kernels,
        IOptionsMonitor<KernelLimits> kernelLimits)
    {
        var meter = meterFactory.Create(MeterName);
        var limits = options.Value;
        var kernelList = kernels.ToList();
        foreach (var kernel in kernelList) For(kernel);

        _jobs = meter.CreateCounter<long>(JobsName, "{job}",
            "Compute jobs finished, by kernel and outcome (success, cancelled, timeout, rejected, failed).");
        _duration = meter.CreateHistogram(JobDurationName, "s",
            "Time a kernel ran, from start to its result or its cancellation.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _waitTime = meter.CreateHistogram(JobWaitTimeName, "s",
            "Time a job waited for a free compute slot before it started.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = WaitBuckets });
        _size = meter.CreateHistogram(JobSizeName, "{size}",
            "Sizes requested per kernel, each in its own meaning (sizeMeaning in GET /api/kernels).",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [.. SizeBuckets] });
        _rejections = meter.CreateCounter<long>(RejectionsName, "{request}",
            "Compute requests turned away, by reason (queue_full, invalid_size, unknown_kernel, insufficient_memory).");

        // Counts that change twice per job and work that grows while a job runs are kept in plain fields and read
        // when Prometheus scrapes: a job then costs them an atomic add, not a measurement each.
        meter.CreateObservableUpDownCounter(JobsActiveName, () => Observe(k => k.Active), "{job}", "Kernels running now.");
        meter.CreateObservableUpDownCounter(JobsWaitingName, () => Observe(k => k.Waiting), "{job}", "Jobs waiting now for a free compute slot.");
        // One family for every kernel's work, each in the unit the kernel declares: a dashboard or rule selects a kernel
        // by its label, and a new kernel's throughput appears without a new series name.
        meter.CreateObservableCounter(WorkName, () => _kernels.Values.Select(k => new Measurement<long>(Volatile.Read(ref k.Work), k.Tag, k.UnitTag)),
            "{unit}", "Work the kernels did, each in its own unit (label compute_work_unit); rate() is a kernel's throughput.");

        meter.CreateObservableGauge(JobsActiveMaxName, () => (long)limits.EffectiveConcurrency, "{job}",
            "Kernels that may run at once (the concurrency limit).");
        meter.CreateObservableGauge(JobsWaitingMaxName, () => (long)limits.QueueLimit, "{job}",
            "Jobs that may wait for a slot before requests are rejected with 429.");

        // One series per kernel from the start, before any job ran: dashboards list the kernels from it.
        meter.CreateObservableGauge(KernelSizeMaxName,
            () => kernelList.Select(k => new Measurement<long>(kernelLimits.Get(k.Name).MaxSize, new KeyValuePair<string, object?>(KernelTag, k.Name))),
            "{size}", "Largest size each kernel accepts (its configured MaxSize); larger requests get 400.");

        meter.CreateObservableGauge(VectorWidthName, () => (long)NativeBuilds.VectorWidth, "{bit}",
            "Widest vectors the kernels use in this process (512: AVX-512, 256: AVX2, 128: SSE or Arm NEON).");
    }

    /// <summary>The series of one kernel: looked up once per job, its tags built once per process.</summary>
    public KernelSeries For(IComputeKernel kernel) => _kernels.GetOrAdd(kernel.Name, (_, k) => new KernelSeries(this, k), kernel);

    /// <summary>A request turned away before a job existed; <paramref name="kernel"/> is null when the kernel itself was unknown.</summary>
    public void Rejected(RejectionReason reason, string? kernel)
    {
        var tags = new TagList { { ReasonTag, reason.ToTagValue() } };
        if (kernel is not null) tags.Add(KernelTag, kernel);
        _rejections.Add(1, tags);
    }

    private IEnumerable<Measurement<long>> Observe(Func<KernelSeries, long> value) =>
        _kernels.Values.Select(k => new Measurement<long>(value(k), k.Tag));

    /// <summary>Every step of one kernel's jobs, recorded with tags made once.</summary>
    public sealed class KernelSeries
    {
        private readonly ComputeMetrics _metrics;
        private readonly TagList[] _byOutcome;
        private readonly TagList[] _byReason;
        internal long Active;
        internal long Waiting;
        internal long Work;

        internal KernelSeries(ComputeMetrics metrics, IComputeKernel kernel)
        {
            _metrics = metrics;
            Tag = new(KernelTag, kernel.Name);
            UnitTag = new(WorkUnitTag, kernel.WorkUnit);
            _byOutcome = [.. Enum.GetValues<JobOutcome>().Select(o => new TagList { Tag, { OutcomeTag, o.ToTagValue() } })];
            _byReason = [.. Enum.GetValues<RejectionReason>().Select(r => new TagList { { ReasonTag, r.ToTagValue() }, Tag })];
            ReportWork = amount => Interlocked.Add(ref Work, amount);
        }

        internal KeyValuePair<string, object?> Tag { get; }

        internal KeyValuePair<string, object?> UnitTag { get; }

        /// <summary>Adds work done (in the kernel's unit); handed to the running kernel.</summary>
        public Action<long> ReportWork { get; }

        public void SizeRequested(long size) => _metrics._size.Record(size, Tag);

        public void WaitStarted() => Interlocked.Increment(ref Waiting);

        public void WaitStopped() => Interlocked.Decrement(ref Waiting);

        public void WaitFinished(TimeSpan waited) => _metrics._waitTime.Record(waited.TotalSeconds, Tag);

        public void JobStarted() => Interlocked.Increment(ref Active);

        public void JobStopped() => Interlocked.Decrement(ref Active);

        /// <summary>A job that ended; <paramref name="ran"/> is null when it stopped while still waiting for a slot (no duration).</summary>
        public void JobFinished(JobOutcome outcome, TimeSpan? ran)
        {
            ref readonly var tags = ref _byOutcome[(int)outcome];
            _metrics._jobs.Add(1, in tags);
            if (ran is { } duration) _metrics._duration.Record(duration.TotalSeconds, in tags);
        }

        /// <summary>A job turned away before it ran: counts as a finished job with outcome rejected, and as a rejection.</summary>
        public void JobRejected(RejectionReason reason)
        {
            _metrics._jobs.Add(1, in _byOutcome[(int)JobOutcome.Rejected]);
            _metrics._rejections.Add(1, in _byReason[(int)reason]);
        }
    }

    private static long[] BuildSizeBuckets()
    {
        var buckets = new List<long>();
        for (var decade = 1L; decade <= 10_000_000_000L; decade *= 10)
        {
            buckets.Add(decade);
            if (decade < 10_000_000_000L)
            {
                buckets.Add(2 * decade);
                buckets.Add(5 * decade);
            }
        }
        return [.. buckets];
    }
}

/// <summary>How a job ended: the <c>compute.outcome</c> tag.</summary>
public enum JobOutcome
{
    Success,
    Cancelled,
    Timeout,
    Rejected,
    Failed,
}

/// <summary>Why a request was turned away: the <c>compute.rejection.reason</c> tag.</summary>
public enum RejectionReason
{
    QueueFull,
    InvalidSize,
    UnknownKernel,
    InsufficientMemory,
}

public static class ComputeMetricValues
{
    public static string ToTagValue(this JobOutcome outcome) => outcome switch
    {
        JobOutcome.Success => "success",
        JobOutcome.Cancelled => "cancelled",
        JobOutcome.Timeout => "timeout",
        JobOutcome.Rejected => "rejected",
        JobOutcome.Failed => "failed",
        _ => throw new ArgumentOutOfRangeException(nameof(outcome)),
    };

    public static string ToTagValue(this RejectionReason reason) => reason switch
    {
        RejectionReason.QueueFull => "queue_full",
        RejectionReason.InvalidSize => "invalid_size",
        RejectionReason.UnknownKernel => "unknown_kernel",
        RejectionReason.InsufficientMemory => "insufficient_memory",
        _ => throw new ArgumentOutOfRangeException(nameof(reason)),
    };
}
