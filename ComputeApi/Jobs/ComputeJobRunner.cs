using System.Threading.RateLimiting;
using CloudApp.ComputeApi.Kernels;
using Microsoft.Extensions.Options;

namespace CloudApp.ComputeApi.Jobs;

/// <summary>
/// The compute path from a kernel's name and a raw size to a <see cref="ComputeResult"/>, and the one place that
/// records it in <see cref="ComputeMetrics"/>. Admits jobs through a concurrency limiter (at most N running, a
/// bounded queue, oldest first) and runs each kernel on one of N dedicated, lower-priority threads, so long
/// computations never occupy the thread pool that serves /metrics and the health probes; jobs a kernel declares
/// quick (<see cref="IComputeKernel.InlineMaxSize"/>) run on the request's thread.
/// </summary>
public sealed class ComputeJobRunner : IDisposable
{
    private readonly ConcurrencyLimiter _limiter;
    private readonly KernelThreads _threads;
    private readonly KernelCatalog _catalog;
    private readonly ComputeMetrics _metrics;
    private readonly TimeProvider _time;

    public ComputeJobRunner(IOptions<ComputeOptions> options, KernelCatalog catalog, ComputeMetrics metrics, TimeProvider time)
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
        _catalog = catalog;
        _metrics = metrics;
        _time = time;
    }

    /// <summary>Looks the kernel up, checks the size and runs the job.</summary>
    /// <param name="kernel">The kernel's name, in any case.</param>
    /// <param name="size">The size as the request gave it; null for the kernel's default.</param>
    /// <param name="aborted">Cancelled when the job must stop: the client went away or the deadline passed.</param>
    /// <param name="deadline">Cancelled only when the deadline passed, to tell a timeout from a disconnect.</param>
    public ValueTask<ComputeResult> RunAsync(string kernel, string? size, CancellationToken aborted, CancellationToken deadline)
    {
        if (_catalog.Find(kernel) is not { } entry)
        {
            _metrics.Rejected(RejectionReason.UnknownKernel, kernel: null);
            return ValueTask.FromResult<ComputeResult>(new ComputeResult.UnknownKernel(kernel, _catalog.Names));
        }
        if (!entry.TryParseSize(size, out var n, out var error))
        {
            _metrics.Rejected(RejectionReason.InvalidSize, entry.Name);
            return ValueTask.FromResult<ComputeResult>(new ComputeResult.InvalidSize(entry.Name, entry.MaxSize, error));
        }
        return RunAsync(entry.Kernel, n, aborted, deadline);
    }

    /// <summary>Runs a job of a size already checked against the kernel's limits.</summary>
    public async ValueTask<ComputeResult> RunAsync(IComputeKernel kernel, long size, CancellationToken aborted, CancellationToken deadline)
    {
        var name = kernel.Name;
        var series = _metrics.For(kernel);
        series.SizeRequested(size);

        var waitStarted = _time.GetTimestamp();
        var lease = _limiter.AttemptAcquire();
        if (!lease.IsAcquired)
        {
            lease.Dispose();
            series.WaitStarted();
            try
            {
                lease = await _limiter.AcquireAsync(1, aborted);
            }
            catch (OperationCanceledException) when (aborted.IsCancellationRequested)
            {
                series.WaitFinished(_time.GetElapsedTime(waitStarted));
                return Stopped(series, name, deadline, ran: null);
            }
            finally
            {
                series.WaitStopped();
            }
        }

        using (lease)
        {
            if (!lease.IsAcquired)
            {
                series.JobRejected(RejectionReason.QueueFull);
                return new ComputeResult.QueueFull(name);
            }
            series.WaitFinished(_time.GetElapsedTime(waitStarted));
            // The lease is held until the kernel thread is done with the job, cancelled or not.
            return await RunWithSlotAsync(kernel, series, size, aborted, deadline);
        }
    }

    private async ValueTask<ComputeResult> RunWithSlotAsync(
        IComputeKernel kernel, ComputeMetrics.KernelSeries series, long size, CancellationToken aborted, CancellationToken deadline)
    {
        var name = kernel.Name;
        series.JobStarted();
        var started = _time.GetTimestamp();
        try
        {
            var context = new KernelContext(aborted, series.ReportWork);
            var output = size <= kernel.InlineMaxSize
                ? kernel.Run(size, context)
                : await _threads.RunAsync(() => kernel.Run(size, context), aborted);
            var elapsed = _time.GetElapsedTime(started);
            series.JobFinished(JobOutcome.Success, elapsed);
            return new ComputeResult.Completed(name, size, output, kernel.WorkUnit, elapsed);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            return Stopped(series, name, deadline, ran: _time.GetElapsedTime(started));
        }
        catch (WorkingMemoryUnavailableException refused)
        {
            series.JobRejected(RejectionReason.InsufficientMemory);
            return new ComputeResult.MemoryUnavailable(name, size, refused.RequiredBytes, refused.UsedBytes, refused.LimitBytes);
        }
        catch
        {
            series.JobFinished(JobOutcome.Failed, _time.GetElapsedTime(started));
            throw;
        }
        finally
        {
            series.JobStopped();
        }
    }

    /// <summary>A job stopped by its deadline or by its client, while running (<paramref name="ran"/>) or still waiting.</summary>
    private static ComputeResult Stopped(ComputeMetrics.KernelSeries series, string name, CancellationToken deadline, TimeSpan? ran)
    {
        var timedOut = deadline.IsCancellationRequested;
        series.JobFinished(timedOut ? JobOutcome.Timeout : JobOutcome.Cancelled, ran);
        return timedOut ? new ComputeResult.TimedOut(name) : new ComputeResult.Cancelled(name);
    }

    public void Dispose()
    {
        _limiter.Dispose();
        _threads.Dispose();
    }
}
