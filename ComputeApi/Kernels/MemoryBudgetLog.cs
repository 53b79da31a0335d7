namespace CloudApp.ComputeApi.Kernels;

/// <summary>Says once, at start, how working memory is admitted: what is measured and against which budget.</summary>
internal sealed partial class MemoryBudgetLog(ScratchMemory scratch, ILogger<ScratchMemory> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (scratch.Accounting is { } accounting)
        {
            Admitting(logger, accounting.Source, accounting.BudgetBytes >> 20, (int)(MemoryAccounting.BudgetFraction * 100),
                accounting.LimitBytes >> 20);
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Working memory for jobs is admitted while memory in use, measured as {Accounting}, stays within {BudgetMiB} MiB ({Percent}% of {LimitMiB} MiB)")]
    private static partial void Admitting(ILogger logger, string accounting, long budgetMiB, int percent, long limitMiB);
}
