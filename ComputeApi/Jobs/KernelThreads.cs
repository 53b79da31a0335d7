using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace CloudApp.ComputeApi.Jobs;

/// <summary>
/// The threads kernels run on: one per compute slot, created once, never the thread pool's. Kestrel, /metrics and
/// the health probes keep the whole thread pool for themselves, and on Linux these threads run at a lower CPU
/// priority (a higher nice value), so when every core computes, a scrape still gets a core at once instead of
/// waiting for its turn behind the kernels.
/// </summary>
internal sealed partial class KernelThreads : IDisposable
{
    private readonly BlockingCollection<Action> _work = [];
    private readonly Thread[] _threads;

    public KernelThreads(int count, int niceness)
    {
        _threads = new Thread[count];
        for (var i = 0; i < count; i++)
        {
            _threads[i] = new Thread(() => Work(niceness)) { IsBackground = true, Name = $"compute-kernel-{i}" };
            _threads[i].Start();
        }
    }

    /// <summary>Runs <paramref name="kernel"/> on a kernel thread. The caller admits at most one job per thread.</summary>
    public Task<T> RunAsync<T>(Func<T> kernel, CancellationToken cancellationToken)
    {
        var completion = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Add(() =>
        {
            if (cancellationToken.IsCancellationRequested)
            {
                completion.SetCanceled(cancellationToken);
                return;
            }
            try
            {
                completion.SetResult(kernel());
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                completion.SetCanceled(cancellationToken);
            }
            catch (Exception e)
            {
                completion.SetException(e);
            }
        }, CancellationToken.None);
        return completion.Task;
    }

    public void Dispose()
    {
        _work.CompleteAdding();
        foreach (var thread in _threads) thread.Join(TimeSpan.FromSeconds(5));
        _work.Dispose();
    }

    private void Work(int niceness)
    {
        LowerPriority(niceness);
        foreach (var item in _work.GetConsumingEnumerable())
        {
            item();
        }
    }

    private static void LowerPriority(int niceness)
    {
        // .NET ignores Thread.Priority on Linux; the nice value of this one thread is set directly. Raising it needs
        // no privilege. Elsewhere, or if it fails, the kernels simply run at normal priority.
        if (niceness > 0 && OperatingSystem.IsLinux())
        {
            _ = SetPriority(PrioProcess, GetThreadId(), niceness);
        }
    }

    private const int PrioProcess = 0;

    [LibraryImport("libc", EntryPoint = "setpriority")]
    private static partial int SetPriority(int which, int who, int priority);

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetThreadId();
}
