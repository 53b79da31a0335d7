using CloudApp.ComputeApi;
using CloudApp.ComputeApi.Apis;
using CloudApp.ComputeApi.Jobs;
using CloudApp.ComputeApi.Kernels;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.Hosting;

public static class ComputeServiceExtensions
{
    /// <summary>
    /// Registers the kernels, their validated options (section <c>Compute</c>), the job runner with its
    /// concurrency limit, the request deadline policy and the <see cref="ComputeMetrics"/> meter.
    /// </summary>
    public static TBuilder AddComputeServices<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        var services = builder.Services;

        services.AddOptions<ComputeOptions>()
            .BindConfiguration(ComputeOptions.SectionName)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<ComputeOptions>, ComputeOptionsValidator>();
        services.AddSingleton<IValidateOptions<ComputeOptions>, KernelLimitsValidator>();
        services.AddSingleton<IConfigureOptions<KernelLimits>, KernelLimitsSetup>();

        // One line per kernel: its name, limits and work counter come with the class.
        services.AddSingleton<IComputeKernel, PrimeCountKernel>();
        services.AddSingleton<IComputeKernel, MatMulKernel>();
        services.AddSingleton<IComputeKernel, Sha256Kernel>();
        // The working memory matmul jobs share (kept between jobs, within the process's memory limit).
        services.AddSingleton(ScratchMemory.Shared);
        services.AddHostedService<MemoryBudgetLog>();
        services.AddSingleton<KernelCatalog>();
        services.AddSingleton<ComputeJobRunner>();
        services.AddSingleton(TimeProvider.System);

        services.AddSingleton<ComputeMetrics>();
        services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(ComputeMetrics.MeterName));

        services.AddRequestTimeouts();
        services.AddOptions<RequestTimeoutOptions>()
            .Configure<IOptions<ComputeOptions>>((timeouts, compute) =>
                timeouts.AddPolicy(KernelsApi.ComputeTimeoutPolicy, new RequestTimeoutPolicy
                {
                    Timeout = compute.Value.RequestTimeout,
                    TimeoutStatusCode = StatusCodes.Status504GatewayTimeout,
                    // Only reached if cancellation escapes the endpoint; the endpoint answers timeouts itself.
                    WriteTimeoutResponse = context =>
                        KernelsApi.TimedOut(compute.Value.RequestTimeout, kernel: null).ExecuteAsync(context),
                }));

        return builder;
    }
}
