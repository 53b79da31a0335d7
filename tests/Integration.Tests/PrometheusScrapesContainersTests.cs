using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CloudApp.Integration.Tests.Support;

namespace CloudApp.Integration.Tests;

/// <summary>
/// Proven with real containers: Prometheus, running the project's configuration, scrapes every ComputeApi instance
/// with no error, and a replica that dies is shown down and reaches the on-call receiver.
/// </summary>
[Collection(ContainersCollection.Name)]
public sealed class PrometheusScrapesContainersTests(ComputeApiImage image)
{
    private static readonly TimeSpan Startup = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan ScrapeWithin = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task EveryComputeApiTargetIsUpWithNoError()
    {
        using var startup = new CancellationTokenSource(Startup);
        await using var stack = await ScrapeStack.StartAsync(image, replicas: 2, startup.Token);

        var targets = await PrometheusApi.EventuallyAsync(
            ct => stack.PrometheusApi.TargetsAsync("computeapi", ct),
            t => t.Count == 2 && t.All(x => x.Health == "up"),
            ScrapeWithin, "both ComputeApi targets up");

        Assert.Equal([ScrapeStack.Instance(0), ScrapeStack.Instance(1)], targets.Select(t => t.Instance).Order());
        Assert.All(targets, t => Assert.Equal("", t.LastError));
        Assert.Equal(["computeapi-0", "computeapi-1"], targets.Select(t => t.Replica).Order());
    }

    [Fact]
    public async Task ComputeSeriesAppearForBothInstancesAfterComputeRequests()
    {
        using var startup = new CancellationTokenSource(Startup);
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
            ScrapeWithin, "three successful primes jobs on each instance in Prometheus");
        Assert.Equal([ScrapeStack.Instance(0), ScrapeStack.Instance(1)], jobs.Select(s => s.Labels["instance"]).Order());

        var sieved = await stack.PrometheusApi.QueryAsync("""compute_primes_sieved_total{job="computeapi"}""", startup.Token);
        Assert.Equal(2, sieved.Count);
        Assert.All(sieved, s => Assert.Equal(3_000_000, s.Value));

        var rejected = await stack.PrometheusApi.QueryAsync("""sum by (instance) (compute_rejections_total{compute_rejection_reason="invalid_size"})""", startup.Token);
        Assert.Equal(2, rejected.Count);

        // The project's recording rules run on the same data (they are mounted from deploy/prometheus/rules).
        await PrometheusApi.EventuallyAsync(
            ct => stack.PrometheusApi.QueryAsync("instance:computeapi_target:group", ct),
            r => r.Count == 2, ScrapeWithin, "the ComputeApi target marker rule for both instances");
    }

    /// <summary>
    /// The lab's failure, made to happen and seen end to end: a replica dies (SIGKILL, no goodbye), its target stays
    /// listed and turns DOWN with the scrape error, the other replica keeps answering, and ComputeApiTargetDown
    /// (for: 1m) reaches Alertmanager, routed to the on-call receiver. Bound: the alert's minute, plus an evaluation
    /// and Alertmanager's 10 s group wait, well within <see cref="AlertWithin"/>.
    /// </summary>
    [Fact]
    public async Task AKilledReplicaIsShownDownAndPagesOnCallThroughAlertmanager()
    {
        using var startup = new CancellationTokenSource(Startup + AlertWithin);
        await using var stack = await ScrapeStack.StartAsync(image, replicas: 2, startup.Token);
        await PrometheusApi.EventuallyAsync(
            ct => stack.PrometheusApi.TargetsAsync("computeapi", ct),
            t => t.Count == 2 && t.All(x => x.Health == "up"),
            ScrapeWithin, "both ComputeApi targets up");

        var kill = await ExternalProgram.RunAsync("docker", ["kill", "--signal", "KILL", stack.ComputeApis[1].Id], TimeSpan.FromMinutes(1));
        Assert.True(kill.ExitCode == 0, kill.ToString());

        var targets = await PrometheusApi.EventuallyAsync(
            ct => stack.PrometheusApi.TargetsAsync("computeapi", ct),
            t => t.Any(x => x.Instance == ScrapeStack.Instance(1) && x.Health == "down"),
            ScrapeWithin, "the killed container's target down");

        var killed = Assert.Single(targets, t => t.Instance == ScrapeStack.Instance(1));
        Assert.NotEqual("", killed.LastError);
        Assert.Equal("computeapi-1", killed.Replica);
        var running = Assert.Single(targets, t => t.Instance == ScrapeStack.Instance(0));
        Assert.Equal("up", running.Health);

        var up = await stack.PrometheusApi.QueryAsync("""up{job="computeapi"}""", startup.Token);
        Assert.Equal(1, up.Single(s => s.Labels["instance"] == ScrapeStack.Instance(0)).Value);
        Assert.Equal(0, up.Single(s => s.Labels["instance"] == ScrapeStack.Instance(1)).Value);

        using var client = stack.ComputeApiClient(0);
        var body = await client.GetFromJsonAsync<JsonElement>("/api/compute/primes?size=1000", startup.Token);
        Assert.Equal(168, body.GetProperty("result").GetInt64());

        var alerts = await PrometheusApi.EventuallyAsync(
            ct => ActiveAlertsAsync(stack.AlertmanagerHttp, ct),
            a => a.Any(x => x.Name == "ComputeApiTargetDown"),
            AlertWithin, "ComputeApiTargetDown active in Alertmanager");
        var page = Assert.Single(alerts, a => a.Name == "ComputeApiTargetDown");
        Assert.Equal(ScrapeStack.Instance(1), page.Instance);
        Assert.Equal("critical", page.Severity);
        Assert.Equal(["on-call"], page.Receivers);
    }

    private static readonly TimeSpan AlertWithin = TimeSpan.FromMinutes(3);

    private sealed record Alert(string Name, string Instance, string Severity, IReadOnlyList<string> Receivers)
    {
        public override string ToString() => $"{Name} {Instance} {Severity} -> {string.Join(",", Receivers)}";
    }

    /// <summary>Alertmanager's active alerts (its API v2), as an on-call engineer's tools read them.</summary>
    private static async Task<IReadOnlyList<Alert>> ActiveAlertsAsync(HttpClient alertmanager, CancellationToken cancellationToken)
    {
        var body = await alertmanager.GetFromJsonAsync<JsonElement>("/api/v2/alerts?active=true", cancellationToken);
        return [.. body.EnumerateArray().Select(a =>
        {
            var labels = a.GetProperty("labels");
            string Label(string name) => labels.TryGetProperty(name, out var v) ? v.GetString()! : "";
            return new Alert(Label("alertname"), Label("instance"), Label("severity"),
                [.. a.GetProperty("receivers").EnumerateArray().Select(r => r.GetProperty("name").GetString()!)]);
        })];
    }
}
