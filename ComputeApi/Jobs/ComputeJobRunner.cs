using System.Threading.RateLimiting;
using CloudApp.ComputeApi.Kernels;
using Microsoft.Extensions.Options;

namespace CloudApp.ComputeApi.Jobs;

/// <summary>What became of one compute request that passed validation.</summary>
public sealed record JobResult(JobOutcome Outcome, KernelOutput? Output, TimeSpan Elapsed);

/// <summary>
/// Admits jobs through a concurrency limiter (at most N running, a bounded queue, oldest first) and runs each
/// kernel on a thread of its own, so long computations never occupy the thread pool that serves /metrics
/// and the health probes. Every step is recorded in <see cref="ComputeMetrics"/>.
/// </summary>
public sealed class ComputeJobRunner : IDisposable
{
    private readonly ConcurrencyLimiter _limiter;
    private readonly ComputeMetrics _metrics;
    private readonly TimeProvider _time;

    public ComputeJobRunner(IOptions<ComputeOptions> options, ComputeMetrics metrics, TimeProvider time)
    {
        _limiter = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = options.Value.EffectiveConcurrency,
            QueueLimit = options.Value.QueueLimit,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
        _metrics = metrics;
        _time = time;
    }

    /// <param name="kernel">The kernel to run.</param>
    /// <param name="size">A size already validated against the kernel's limits.</param>
    /// <param name="aborted">Cancelled when the job must stop: the client went away or the deadline passed.</param>
    /// <param name="deadline">Cancelled only when the deadline passed, to tell a timeout from a disconnect.</param>
    public async Task<JobResult> RunAsync(IComputeKernel kernel, long size, CancellationToken aborted, CancellationToken deadline)
    {
        var name = kernel.Name;
        _metrics.SizeRequested(name, size);

        var waitStarted = _time.GetTimestamp();
        var lease = _limiter.AttemptAcquire();
        if (!lease.IsAcquired)
        {
            lease.Dispose();
            _metrics.WaitStarted(name);
            try
            {
                lease = await _limiter.AcquireAsync(1, aborted);
            }
            catch (OperationCanceledException) when (aborted.IsCancellationRequested)
            {
                var outcome = Classify(deadline);
                _metrics.WaitFinished(name, _time.GetElapsedTime(waitStarted));
                _metrics.JobAbandoned(name, outcome);
                return new JobResult(outcome, null, TimeSpan.Zero);
            }
            finally
            {
                _metrics.WaitStopped(name);
            }
        }

        using (lease)
        {
            if (!lease.IsAcquired)
            {
                _metrics.JobRejected(name, RejectionReason.QueueFull);
                return new JobResult(JobOutcome.Rejected, null, TimeSpan.Zero);
            }

            _metrics.WaitFinished(name, _time.GetElapsedTime(waitStarted));
            _metrics.JobStarted(name);
            var started = _time.GetTimestamp();
            try
            {
                var context = new KernelContext(aborted, work => _metrics.WorkDone(name, work));
                // LongRunning gives the kernel a dedicated thread; the lease is held until that thread is done.
                var output = await Task.Factory.StartNew(
                    () => kernel.Run(size, context), aborted, TaskCreationOptions.LongRunning, TaskScheduler.Default);
                var elapsed = _time.GetElapsedTime(started);
                _metrics.JobFinished(name, JobOutcome.Success, elapsed);
                return new JobResult(JobOutcome.Success, output, elapsed);
            }
            catch (OperationCanceledException) when (aborted.IsCancellationRequested)
            {
                var outcome = Classify(deadline);
                var elapsed = _time.GetElapsedTime(started);
                _metrics.JobFinished(name, outcome, elapsed);
                return new JobResult(outcome, null, elapsed);
            }
            catch
            {
                _metrics.JobFinished(name, JobOutcome.Failed, _time.GetElapsedTime(started));
                throw;
            }
            finally
            {
                _metrics.JobStopped(name);
            }
        }
    }

    public void Dispose() => _limiter.Dispose();

    private static JobOutcome Classify(CancellationToken deadline) =>
        deadline.IsCancellationRequested ? JobOutcome.Timeout : JobOutcome.Cancelled;
}
