using System.Threading.RateLimiting;
using CloudApp.ComputeApi.Kernels;
using Microsoft.Extensions.Options;

namespace CloudApp.ComputeApi.Jobs;

/// <summary>What became of one compute request that passed validation (<paramref name="MemoryRefused"/>: why a started job was rejected).</summary>
public sealed record JobResult(JobOutcome Outcome, KernelOutput? Output, TimeSpan Elapsed, WorkingMemoryUnavailableException? MemoryRefused = null);

/// <summary>How a job ended; the <c>compute.outcome</c> tag of its metrics.</summary>
public enum JobOutcome
{
    Success,
    Cancelled,
    Timeout,
    Rejected,
    Failed,
}

/// <summary>
/// Admits jobs through a concurrency limiter (at most N running, a bounded queue, oldest first) and runs each
/// kernel on one of N dedicated, lower-priority threads, so long computations never occupy the thread pool that
/// serves /metrics and the health probes; jobs a kernel declares quick (<see cref="IComputeKernel.InlineMaxSize"/>)
/// run on the request's thread. Every step is recorded in <see cref="ComputeMetrics"/>.
/// </summary>
public sealed class ComputeJobRunner : IDisposable
{
    private readonly ConcurrencyLimiter _limiter;
    private readonly KernelThreads _threads;
    private readonly ComputeMetrics _metrics;
    private readonly TimeProvider _time;

    public ComputeJobRunner(IOptions<ComputeOptions> options, ComputeMetrics metrics, TimeProvider time)
    {
        var slots = options.Value.EffectiveConcurrency;
        _limiter = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = slots,
            QueueLimit = options.Value.QueueLimit,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
        // One thread per permit: a job that holds a permit always finds its thread free.
        _threads = new KernelThreads(slots, options.Value.KernelNiceness);
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
            // The lease is held until the kernel thread is done with the job, cancelled or not.
            return await RunWithSlotAsync(kernel, size, aborted, deadline);
        }
    }

    private async Task<JobResult> RunWithSlotAsync(IComputeKernel kernel, long size, CancellationToken aborted, CancellationToken deadline)
    {
        var name = kernel.Name;
        _metrics.JobStarted(name);
        var started = _time.GetTimestamp();
        try
        {
            var context = new KernelContext(aborted, work => _metrics.WorkDone(name, work));
            var output = size <= kernel.InlineMaxSize
                ? kernel.Run(size, context)
                : await _threads.RunAsync(() => kernel.Run(size, context), aborted);
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
        catch (WorkingMemoryUnavailableException refused)
        {
            _metrics.JobRejected(name, RejectionReason.InsufficientMemory);
            return new JobResult(JobOutcome.Rejected, null, _time.GetElapsedTime(started), refused);
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

    public void Dispose()
    {
        _limiter.Dispose();
        _threads.Dispose();
    }

    private static JobOutcome Classify(CancellationToken deadline) =>
        deadline.IsCancellationRequested ? JobOutcome.Timeout : JobOutcome.Cancelled;
}
