using CloudApp.ComputeApi.Jobs;
using CloudApp.ComputeApi.Kernels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Options;
using System.Diagnostics.Metrics;

namespace CloudApp.ComputeApi.Tests;

public sealed class ComputeJobRunnerTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly IMeterFactory _meters;
    private readonly ComputeMetrics _metrics;
    private readonly ComputeJobRunner _runner;
    private readonly MetricCollector<long> _jobs;
    private readonly MetricCollector<double> _duration;
    private readonly MetricCollector<double> _waitTime;
    private readonly MetricCollector<long> _size;
    private readonly MetricCollector<long> _active;
    private readonly MetricCollector<long> _waiting;
    private readonly MetricCollector<long> _rejections;
    private readonly MetricCollector<long> _work;

    public ComputeJobRunnerTests()
    {
        _meters = _services.GetRequiredService<IMeterFactory>();
        var options = Options.Create(new ComputeOptions { MaxConcurrency = 1, QueueLimit = 1 });
        var limits = new TestOptionsMonitor<KernelLimits>(new PrimeCountKernel().DefaultLimits);
        _metrics = new ComputeMetrics(_meters, options, [new PrimeCountKernel()], limits);
        _runner = new ComputeJobRunner(options, new KernelCatalog([new PrimeCountKernel()], limits), _metrics, TimeProvider.System);
        _jobs = Collect<long>(ComputeMetrics.JobsName);
        _duration = Collect<double>(ComputeMetrics.JobDurationName);
        _waitTime = Collect<double>(ComputeMetrics.JobWaitTimeName);
        _size = Collect<long>(ComputeMetrics.JobSizeName);
        _active = Collect<long>(ComputeMetrics.JobsActiveName);
        _waiting = Collect<long>(ComputeMetrics.JobsWaitingName);
        _rejections = Collect<long>(ComputeMetrics.RejectionsName);
        _work = Collect<long>(ComputeMetrics.WorkName);
    }

    [Fact]
    public async Task RecordsASuccessfulJobInEveryInstrument()
    {
        var result = await _runner.RunAsync(new PrimeCountKernel(), 1_000, CancellationToken.None, CancellationToken.None).AsTask();

        var done = Assert.IsType<ComputeResult.Completed>(result);
        Assert.Equal(168L, done.Output.Result);
        Assert.Equal("numbers", done.WorkUnit);

        var job = Assert.Single(_jobs.GetMeasurementSnapshot());
        Assert.Equal(1, job.Value);
        Assert.Equal("primes", job.Tags[ComputeMetrics.KernelTag]);
        Assert.Equal("success", job.Tags[ComputeMetrics.OutcomeTag]);

        var duration = Assert.Single(_duration.GetMeasurementSnapshot());
        Assert.True(duration.Value > 0);
        Assert.Equal("success", duration.Tags[ComputeMetrics.OutcomeTag]);

        Assert.Equal(1_000, Assert.Single(_size.GetMeasurementSnapshot()).Value);
        Assert.Equal("primes", Assert.Single(_waitTime.GetMeasurementSnapshot()).Tags[ComputeMetrics.KernelTag]);
        Assert.Equal(1_000, Observed(_work));
        Assert.All(_work.GetMeasurementSnapshot(), m =>
        {
            Assert.Equal("primes", m.Tags[ComputeMetrics.KernelTag]);
            Assert.Equal("numbers", m.Tags[ComputeMetrics.WorkUnitTag]);
        });
        Assert.Equal(0, Observed(_active));
        Assert.Equal(0, Observed(_waiting));
    }

    [Fact]
    public async Task RunsQuickJobsOnTheRequestsThreadAndTheRestOnAComputeWorkerThread()
    {
        var kernel = new ThreadRecordingKernel();

        await _runner.RunAsync(kernel, ThreadRecordingKernel.Quick, CancellationToken.None, CancellationToken.None).AsTask();
        await _runner.RunAsync(kernel, ThreadRecordingKernel.Quick + 1, CancellationToken.None, CancellationToken.None).AsTask();

        Assert.Equal(2, kernel.Threads.Count);
        Assert.False(kernel.Threads[0]?.StartsWith("compute-kernel-", StringComparison.Ordinal) ?? false, $"a quick job ran on {kernel.Threads[0]}");
        Assert.StartsWith("compute-kernel-", kernel.Threads[1]);
        // Both held the slot and were measured.
        Assert.Equal(0, Observed(_active));
        Assert.Equal(2, _jobs.GetMeasurementSnapshot().Sum(m => m.Value));
    }

    /// <summary>Records the thread each run happened on; quick up to <see cref="Quick"/>.</summary>
    private sealed class ThreadRecordingKernel : IComputeKernel
    {
        public const long Quick = 10;

        public List<string?> Threads { get; } = [];
        public string Name => PrimeCountKernel.KernelName;
        public string Description => "records its thread";
        public string SizeMeaning => "anything";
        public long HardMaxSize => 100;
        public long InlineMaxSize => Quick;
        public KernelLimits DefaultLimits => new() { DefaultSize = 1, MaxSize = 100 };
        public string ResultMeaning => "the size";
        public string WorkUnit => "numbers";

        public KernelOutput Run(long size, KernelContext context)
        {
            lock (Threads) Threads.Add(Thread.CurrentThread.Name);
            return new KernelOutput(size, size);
        }
    }

    [Fact]
    public async Task QueuesBeyondTheConcurrencyLimitAndRejectsBeyondTheQueue()
    {
        var gate = new GateKernel();
        var running = _runner.RunAsync(gate, 1, CancellationToken.None, CancellationToken.None).AsTask();
        await WaitUntil(() => gate.Started == 1);
        var queued = _runner.RunAsync(gate, 2, CancellationToken.None, CancellationToken.None).AsTask();
        await WaitUntil(() => Observed(_waiting) == 1);
        Assert.Equal(1, Observed(_active));

        var rejected = await _runner.RunAsync(gate, 3, CancellationToken.None, CancellationToken.None).AsTask();

        Assert.Equal("primes", Assert.IsType<ComputeResult.QueueFull>(rejected).Kernel);
        var rejection = Assert.Single(_rejections.GetMeasurementSnapshot());
        Assert.Equal("queue_full", rejection.Tags[ComputeMetrics.ReasonTag]);
        Assert.Equal("primes", rejection.Tags[ComputeMetrics.KernelTag]);
        Assert.Contains(_jobs.GetMeasurementSnapshot(), m => (string?)m.Tags[ComputeMetrics.OutcomeTag] == "rejected");

        gate.Release(2);
        Assert.IsType<ComputeResult.Completed>(await running.WaitAsync(Patience));
        Assert.IsType<ComputeResult.Completed>(await queued.WaitAsync(Patience));
        Assert.Equal(0, Observed(_waiting));
        Assert.Equal(0, Observed(_active));
        Assert.Equal(2, _waitTime.GetMeasurementSnapshot().Count);
    }

    [Fact]
    public async Task CallsAPassedDeadlineATimeout()
    {
        using var deadline = new CancellationTokenSource();
        var job = _runner.RunAsync(new GateKernel(), 1, deadline.Token, deadline.Token).AsTask();
        deadline.CancelAfter(50);

        var result = await job.WaitAsync(Patience);

        Assert.IsType<ComputeResult.TimedOut>(result);
        Assert.Equal("timeout", Assert.Single(_duration.GetMeasurementSnapshot()).Tags[ComputeMetrics.OutcomeTag]);
        Assert.Equal(0, Observed(_active));
    }

    [Fact]
    public async Task CallsAClientDisconnectCancelled()
    {
        using var aborted = new CancellationTokenSource();
        var job = _runner.RunAsync(new GateKernel(), 1, aborted.Token, CancellationToken.None).AsTask();
        aborted.CancelAfter(50);

        Assert.IsType<ComputeResult.Cancelled>(await job.WaitAsync(Patience));
        Assert.Equal("cancelled", Assert.Single(_jobs.GetMeasurementSnapshot()).Tags[ComputeMetrics.OutcomeTag]);
    }

    [Fact]
    public async Task AJobCancelledWhileWaitingNeverRuns()
    {
        var gate = new GateKernel();
        var running = _runner.RunAsync(gate, 1, CancellationToken.None, CancellationToken.None).AsTask();
        await WaitUntil(() => gate.Started == 1);
        using var aborted = new CancellationTokenSource();
        var waiting = _runner.RunAsync(gate, 2, aborted.Token, CancellationToken.None).AsTask();
        await WaitUntil(() => Observed(_waiting) == 1);

        aborted.Cancel();
        var result = await waiting.WaitAsync(Patience);
        gate.Release();
        await running.WaitAsync(Patience);

        Assert.IsType<ComputeResult.Cancelled>(result);
        Assert.Equal(1, gate.Started);
        Assert.Equal(0, Observed(_waiting));
        // Only the job that ran has a duration; the abandoned one is counted but was never timed.
        Assert.Equal("success", Assert.Single(_duration.GetMeasurementSnapshot()).Tags[ComputeMetrics.OutcomeTag]);
        Assert.Contains(_jobs.GetMeasurementSnapshot(), m => (string?)m.Tags[ComputeMetrics.OutcomeTag] == "cancelled");
    }

    [Fact]
    public async Task RecordsAFailureAndLetsTheExceptionThrough()
    {
        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            _runner.RunAsync(new ThrowingKernel(), 1, CancellationToken.None, CancellationToken.None).AsTask());

        Assert.Equal("failed", Assert.Single(_jobs.GetMeasurementSnapshot()).Tags[ComputeMetrics.OutcomeTag]);
        Assert.Equal(0, Observed(_active));
    }

    [Fact]
    public void PublishesTheConfiguredLimits()
    {
        using var activeMax = Collect<long>(ComputeMetrics.JobsActiveMaxName);
        using var waitingMax = Collect<long>(ComputeMetrics.JobsWaitingMaxName);

        activeMax.RecordObservableInstruments();
        waitingMax.RecordObservableInstruments();

        Assert.Equal(1, activeMax.LastMeasurement!.Value);
        Assert.Equal(1, waitingMax.LastMeasurement!.Value);
    }

    [Fact]
    public async Task TurnsAwayUnknownKernelsAndBadSizesCountingEachOnceWithoutUserInputInTags()
    {
        var unknown = await _runner.RunAsync("no-such-kernel", "10", CancellationToken.None, CancellationToken.None);
        var invalid = await _runner.RunAsync("PRIMES", "12abc", CancellationToken.None, CancellationToken.None);

        Assert.Equal(["primes"], Assert.IsType<ComputeResult.UnknownKernel>(unknown).Known);
        var bad = Assert.IsType<ComputeResult.InvalidSize>(invalid);
        Assert.Equal(new PrimeCountKernel().DefaultLimits.MaxSize, bad.Maximum);
        Assert.Contains("'12abc' is not a whole number", bad.Error, StringComparison.Ordinal);

        var measurements = _rejections.GetMeasurementSnapshot();
        Assert.Equal(["unknown_kernel", "invalid_size"], measurements.Select(m => (string?)m.Tags[ComputeMetrics.ReasonTag]));
        Assert.False(measurements[0].Tags.ContainsKey(ComputeMetrics.KernelTag));
        Assert.Equal("primes", measurements[1].Tags[ComputeMetrics.KernelTag]);
        // Turned away before a job existed: no job counted, no size recorded.
        Assert.Empty(_jobs.GetMeasurementSnapshot());
        Assert.Empty(_size.GetMeasurementSnapshot());
    }

    public void Dispose()
    {
        _runner.Dispose();
        _services.Dispose();
    }

    /// <summary>What an observed instrument reports now, summed over its series (the kernels).</summary>
    private static long Observed(MetricCollector<long> collector)
    {
        collector.Clear();
        collector.RecordObservableInstruments();
        return collector.GetMeasurementSnapshot().Sum(m => m.Value);
    }

    private MetricCollector<T> Collect<T>(string instrument) where T : struct =>
        new(_meters, ComputeMetrics.MeterName, instrument);

    private static async Task WaitUntil(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(Patience);
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }
}

/// <summary>Options that never change, for a class built by hand in a test.</summary>
internal sealed class TestOptionsMonitor<T>(T value) : IOptionsMonitor<T>
{
    public T CurrentValue => value;

    public T Get(string? name) => value;

    public IDisposable? OnChange(Action<T, string?> listener) => null;
}
