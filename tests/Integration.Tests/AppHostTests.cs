using System.Net.Http.Json;
using Aspire.Hosting.Testing;
using System.Text.Json;
using CloudApp.Integration.Tests.Support;

namespace CloudApp.Integration.Tests;

/// <summary>The whole local stack, started the way <c>dotnet run --project AppHost</c> starts it.</summary>
[Collection(ContainersCollection.Name)]
public sealed class AppHostTests
{
    [Fact]
    public async Task PrometheusSeesOneUpTargetPerReplicaWhateverTheReplicaCount()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            ["--ComputeApi:Replicas=3", "--Grafana:Enabled=false"], timeout.Token);
        await using var app = await appHost.BuildAsync(timeout.Token);
        await app.StartAsync(timeout.Token);

        await app.ResourceNotifications.WaitForResourceHealthyAsync("computeapi", timeout.Token);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("prometheus", timeout.Token);
        var started = DateTime.UtcNow;

        using var computeapi = app.CreateHttpClient("computeapi", "http");
        var body = await computeapi.GetFromJsonAsync<JsonElement>("/api/compute/primes?size=1000000", timeout.Token);
        Assert.Equal(78_498, body.GetProperty("result").GetInt64());

        using var prometheusHttp = app.CreateHttpClient("prometheus", "http");
        var prometheus = new PrometheusApi(prometheusHttp);
        var targets = await PrometheusApi.EventuallyAsync(
            ct => prometheus.TargetsAsync("computeapi", ct),
            t => t.Count == 3 && t.All(x => x.Health == "up"),
            TimeSpan.FromMinutes(2), "three ComputeApi replica targets up");

        Assert.Equal(3, targets.Select(t => t.Instance).Distinct().Count());
        Assert.Equal(3, targets.Select(t => t.Replica).Distinct().Count());
        Assert.All(targets, t => Assert.StartsWith("computeapi-", t.Replica));
        Assert.All(targets, t => Assert.Equal("", t.LastError));

        // The rest of the stack is scraped too, found by name on the containers' network, and receives alerts.
        foreach (var job in new[] { "node", "alertmanager", "prometheus" })
        {
            await PrometheusApi.EventuallyAsync(ct => prometheus.TargetsAsync(job, ct), t => t.Count == 1 && t[0].Health == "up",
                TimeSpan.FromSeconds(60) - (DateTime.UtcNow - started), $"the {job} target up within a minute of Prometheus starting");
        }
        var alertmanagers = await prometheusHttp.GetFromJsonAsync<JsonElement>("/api/v1/alertmanagers", timeout.Token);
        Assert.Single(alertmanagers.GetProperty("data").GetProperty("activeAlertmanagers").EnumerateArray());

        // The request made through the app model was counted by exactly one replica, and Prometheus has it.
        var jobs = await PrometheusApi.EventuallyAsync(
            ct => prometheus.QueryAsync("""sum(compute_jobs_total{job="computeapi",compute_outcome="success"})""", ct),
            r => r.Count == 1 && r[0].Value >= 1,
            TimeSpan.FromMinutes(1), "the compute job in Prometheus");
        Assert.Equal(1, jobs[0].Value);
    }
}
