using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CloudApp.Integration.Tests.Support;

namespace CloudApp.Integration.Tests;

/// <summary>
/// Proven with real containers: Prometheus, running the project's configuration, scrapes every ComputeApi instance
/// with no error, and their compute series and the project's rules follow requests. (A replica that dies:
/// <see cref="ReplicaFailureTests"/>.)
/// </summary>
[Collection(ScrapeWaitsCollection.Name)]
public sealed class PrometheusScrapesContainersTests(ComputeApiImage image)
{
    [Fact]
    public async Task EveryComputeApiTargetIsUpWithNoError()
    {
        using var startup = new CancellationTokenSource(ScrapeStack.Startup);
        await using var stack = await ScrapeStack.StartAsync(image, replicas: 2, startup.Token);

        var targets = await PrometheusApi.EventuallyAsync(
            ct => stack.PrometheusApi.TargetsAsync("computeapi", ct),
            t => t.Count == 2 && t.All(x => x.Health == "up"),
            ScrapeStack.ScrapeWithin, "both ComputeApi targets up");

        Assert.Equal([ScrapeStack.Instance(0), ScrapeStack.Instance(1)], targets.Select(t => t.Instance).Order());
        Assert.All(targets, t => Assert.Equal("", t.LastError));
        Assert.Equal(["computeapi-0", "computeapi-1"], targets.Select(t => t.Replica).Order());
    }

    [Fact]
    public async Task ComputeSeriesAppearForBothInstancesAfterComputeRequests()
    {
        using var startup = new CancellationTokenSource(ScrapeStack.Startup);
        await using var stack = await ScrapeStack.StartAsync(image, replicas: 2, startup.Token);

        for (var i = 0; i < 2; i++)
        {
            using var client = stack.ComputeApiClient(i);
            for (var n = 0; n < 3; n++)
            {
                var body = await client.GetFromJsonAsync<JsonElement>("/api/compute/primes?size=1000000", startup.Token);
                Assert.Equal(78_498, body.GetProperty("result").GetInt64());
            }
            using var bad = await client.GetAsync("/api/compute/primes?size=0", startup.Token);
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        }

        var jobs = await PrometheusApi.EventuallyAsync(
            ct => stack.PrometheusApi.QueryAsync("""sum by (instance) (compute_jobs_total{job="computeapi",compute_kernel="primes",compute_outcome="success"})""", ct),
            r => r.Count == 2 && r.All(s => s.Value == 3),
            ScrapeStack.ScrapeWithin, "three successful primes jobs on each instance in Prometheus");
        Assert.Equal([ScrapeStack.Instance(0), ScrapeStack.Instance(1)], jobs.Select(s => s.Labels["instance"]).Order());

        var sieved = await stack.PrometheusApi.QueryAsync("""compute_work_total{job="computeapi",compute_kernel="primes",compute_work_unit="numbers"}""", startup.Token);
        Assert.Equal(2, sieved.Count);
        Assert.All(sieved, s => Assert.Equal(3_000_000, s.Value));

        var rejected = await stack.PrometheusApi.QueryAsync("""sum by (instance) (compute_rejections_total{compute_rejection_reason="invalid_size"})""", startup.Token);
        Assert.Equal(2, rejected.Count);

        // The project's recording rules run on the same data (they are mounted from deploy/prometheus/rules).
        await PrometheusApi.EventuallyAsync(
            ct => stack.PrometheusApi.QueryAsync("instance:computeapi_target:group", ct),
            r => r.Count == 2, ScrapeStack.ScrapeWithin, "the ComputeApi target marker rule for both instances");
    }
}
