using System.Net.Http.Json;
using System.Text.Json;
using CloudApp.Integration.Tests.Support;

namespace CloudApp.Integration.Tests;

/// <summary>
/// Proven with real containers: a replica that dies is shown down in Prometheus and reaches the on-call receiver
/// through Alertmanager. Its own collection: most of its time is the alert's minute, spent waiting beside the others.
/// </summary>
[Collection(AlertWaitsCollection.Name)]
public sealed class ReplicaFailureTests(ComputeApiImage image)
{
    /// <summary>
    /// A replica that dies (the crash drill), made to happen and seen end to end: killed with SIGKILL (no goodbye),
    /// its target stays listed and turns DOWN with the scrape error, the other replica keeps answering, and
    /// ComputeApiTargetDown (for: 1m) reaches Alertmanager, routed to the on-call receiver. Bound: the alert's minute,
    /// plus an evaluation and Alertmanager's 10 s group wait, well within <see cref="AlertWithin"/>.
    /// </summary>
    [Fact]
    public async Task AKilledReplicaIsShownDownAndPagesOnCallThroughAlertmanager()
    {
        using var startup = new CancellationTokenSource(ScrapeStack.Startup + AlertWithin);
        await using var stack = await ScrapeStack.StartAsync(image, replicas: 2, startup.Token);
        await PrometheusApi.EventuallyAsync(
            ct => stack.PrometheusApi.TargetsAsync("computeapi", ct),
            t => t.Count == 2 && t.All(x => x.Health == "up"),
            ScrapeStack.ScrapeWithin, "both ComputeApi targets up");

        var kill = await ExternalProgram.RunAsync("docker", ["kill", "--signal", "KILL", stack.ComputeApis[1].Id], TimeSpan.FromMinutes(1));
        Assert.True(kill.ExitCode == 0, kill.ToString());

        var targets = await PrometheusApi.EventuallyAsync(
            ct => stack.PrometheusApi.TargetsAsync("computeapi", ct),
            t => t.Any(x => x.Instance == ScrapeStack.Instance(1) && x.Health == "down"),
            ScrapeStack.ScrapeWithin, "the killed container's target down");

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
