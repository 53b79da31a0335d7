using System.Diagnostics;
using CloudApp.Integration.Tests.Support;

namespace CloudApp.Integration.Tests;

/// <summary>
/// What the resource-monitoring gauges measure, shown on the published image with a pod's CPU settings
/// (requests.cpu 250m, limits.cpu 1, which Docker expresses as 256 CPU shares and one CPU): busy on one core,
/// <c>container_cpu_limit_utilization</c> reads the container's CPU against its limit (about 1),
/// <c>process_cpu_utilization</c> the same CPU against the request (four times as much, about 4; it is not the
/// process's share of anything), and the process's own CPU-time counter gives the cores it used (about 1).
/// docs/metrics.md explains them with these figures.
/// </summary>
[Collection(ContainersCollection.Name)]
public sealed class ResourceUtilizationTests(ComputeApiImage image)
{
    private const double LimitCpus = 1.0;
    private const double RequestCpus = 0.25;

    [Fact]
    public async Task CpuGaugesAreTheContainersCpuAgainstItsLimitAndItsRequest()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using var service = await image.StartAsync("cpu", b => b.WithCreateParameterModifier(create =>
        {
            create.HostConfig ??= new();
            create.HostConfig.NanoCPUs = (long)(LimitCpus * 1e9);
            create.HostConfig.CPUShares = (long)(RequestCpus * 1024);
        }), cts.Token);
        var client = service.Client;

        // One client, one job at a time: one core busy, as much as the limit allows.
        using var busy = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
        var load = Task.Run(async () =>
        {
            while (!busy.IsCancellationRequested)
            {
                using var response = await client.GetAsync("/api/compute/primes?size=1000000000", busy.Token);
                response.EnsureSuccessStatusCode();
            }
        }, busy.Token);
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(2), cts.Token);
            var during = await PrometheusApi.EventuallyAsync(
                ct => ScrapeAsync(client, ct),
                m => m["container_cpu_limit_utilization"] > 0.8,
                TimeSpan.FromSeconds(30), "container_cpu_limit_utilization near 1 while one core is busy");
            // The process' own CPU time over a few seconds of the busy loop (measured once it runs at full speed,
            // not from before it ramped up): about one core.
            var clock = Stopwatch.StartNew();
            await Task.Delay(TimeSpan.FromSeconds(6), cts.Token);
            var after = await ScrapeAsync(client, cts.Token);
            var cores = (after["dotnet_process_cpu_time_seconds_total"] - during["dotnet_process_cpu_time_seconds_total"]) / clock.Elapsed.TotalSeconds;

            Assert.InRange(during["container_cpu_limit_utilization"], 0.8, 1.05);
            Assert.InRange(cores, 0.7, 1.05);
            // The same container CPU, divided by the request instead of the limit (cgroup v2 stores the request as a
            // weight, which rounds it a little).
            Assert.InRange(during["process_cpu_utilization"] / during["container_cpu_limit_utilization"], 0.9 * LimitCpus / RequestCpus, 1.1 * LimitCpus / RequestCpus);
            Assert.Equal(during["process_cpu_utilization"], during["container_cpu_request_utilization"], 6);
        }
        finally
        {
            await busy.CancelAsync();
            await Task.WhenAny(load);
        }
    }

    /// <summary>The CPU families of one scrape, each summed over its series (cpu_mode for the CPU time).</summary>
    private static async Task<IReadOnlyDictionary<string, double>> ScrapeAsync(HttpClient client, CancellationToken cancellationToken)
    {
        var text = await client.GetStringAsync("/metrics", cancellationToken);
        return new[] { "container_cpu_limit_utilization", "container_cpu_request_utilization", "process_cpu_utilization", "dotnet_process_cpu_time_seconds_total" }
            .ToDictionary(family => family, family => Exposition.Sample(text, family));
    }
}
