using CloudApp.ComputeApi.Kernels;

namespace CloudApp.ComputeApi.Tests;

/// <summary>A kernel that runs until released or cancelled, to hold compute slots for as long as a test needs.</summary>
internal sealed class GateKernel(string name = PrimeCountKernel.KernelName) : IComputeKernel
{
    private readonly SemaphoreSlim _release = new(0);
    private int _started;

    public string Name => name;
    public string Description => "test gate";
    public string SizeMeaning => "anything";
    public long HardMaxSize => long.MaxValue;
    public KernelLimits DefaultLimits => new() { DefaultSize = 10, MaxSize = 1_000_000_000_000 };
    public string ResultMeaning => "the size";
    public string WorkUnit => "numbers";
    public int Started => Volatile.Read(ref _started);

    public void Release(int count = 1) => _release.Release(count);

    public KernelOutput Run(long size, KernelContext context)
    {
        Interlocked.Increment(ref _started);
        _release.Wait(context.CancellationToken);
        context.ReportWork(size);
        return new KernelOutput(size, size);
    }
}

/// <summary>A kernel that fails the way a bug would.</summary>
internal sealed class ThrowingKernel : IComputeKernel
{
    public const string Secret = "secret-internal-detail";

    public string Name => PrimeCountKernel.KernelName;
    public string Description => "always fails";
    public string SizeMeaning => "anything";
    public long HardMaxSize => long.MaxValue;
    public KernelLimits DefaultLimits => new() { DefaultSize = 10, MaxSize = 1_000 };
    public string ResultMeaning => "nothing: it throws";
    public string WorkUnit => "numbers";

    public KernelOutput Run(long size, KernelContext context) => throw new InvalidOperationException(Secret);
}

internal static class KernelAssert
{
    /// <summary>Starts a long run, cancels it while it computes, and requires the kernel to stop within a second.</summary>
    public static void StopsSoonAfterCancellation(IComputeKernel kernel, long size)
    {
        using var cts = new CancellationTokenSource();
        var task = Task.Run(() => kernel.Run(size, new KernelContext(cts.Token)));
        Thread.Sleep(250);
        Assert.False(task.IsCompleted, $"{kernel.Name}({size}) finished before it could be cancelled; pick a larger size");
        var sinceCancel = System.Diagnostics.Stopwatch.StartNew();
        cts.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => task.GetAwaiter().GetResult());
        Assert.InRange(sinceCancel.ElapsedMilliseconds, 0, 1_000);
    }
}
