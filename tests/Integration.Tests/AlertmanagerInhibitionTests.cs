using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using CloudApp.Integration.Tests.Support;

namespace CloudApp.Integration.Tests;

/// <summary>
/// deploy/alertmanager/alertmanager.yml in a running Alertmanager, fed the alerts of two namespaces as a cluster's
/// Prometheus would send them (every pod under job="kubernetes-pods"): inhibition and grouping stay inside a
/// namespace, and a target that is down mutes its own warnings only.
/// </summary>
public sealed class AlertmanagerInhibitionTests
{
    private const string Job = "kubernetes-pods";

    [Fact]
    public async Task InhibitionAndGroupingStayInsideANamespace()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var alertmanager = ScrapeStack.Alertmanager("alertmanager-inhibition").Build();
        await alertmanager.StartAsync(cts.Token);
        using var http = new HttpClient { BaseAddress = new Uri($"http://{alertmanager.Hostname}:{alertmanager.GetMappedPublicPort(ScrapeStack.AlertmanagerPort)}") };

        Dictionary<string, string> Alert(string name, string severity, string ns, string? instance = null)
        {
            var labels = new Dictionary<string, string> { ["alertname"] = name, ["severity"] = severity, ["namespace"] = ns, ["job"] = Job };
            if (instance is not null) labels["instance"] = instance;
            return labels;
        }
        var alerts = new Dictionary<string, Dictionary<string, string>>
        {
            // A job-wide critical alert (no instance) in team-a...
            ["errors a"] = Alert("ComputeApiHighErrorRatio", "critical", "team-a"),
            // ...mutes its own name's warning there, but not another namespace's warnings nor another alert's.
            ["errors warning a"] = Alert("ComputeApiHighErrorRatio", "warning", "team-a"),
            ["latency b"] = Alert("ComputeApiLatencyP99High", "warning", "team-b"),
            ["other workload a"] = Alert("BillingQueueBacklog", "warning", "team-a"),
            // A target that is down mutes that target's warnings, in its namespace only.
            ["down a"] = Alert("ComputeApiTargetDown", "critical", "team-a", "10.1.0.7:8080"),
            ["slow target a"] = Alert("ComputeApiLatencyP99High", "warning", "team-a", "10.1.0.7:8080"),
            ["same address b"] = Alert("ComputeApiJobsTimingOut", "warning", "team-b", "10.1.0.7:8080"),
        };
        var posted = new JsonArray([.. alerts.Values.Select(labels => new JsonObject
        {
            ["labels"] = new JsonObject([.. labels.Select(l => KeyValuePair.Create(l.Key, (JsonNode?)JsonValue.Create(l.Value)))]),
            ["startsAt"] = DateTimeOffset.UtcNow.AddMinutes(-1).ToString("O"),
        })]);
        using (var post = await http.PostAsJsonAsync("/api/v2/alerts", posted, cts.Token))
        {
            Assert.True(post.IsSuccessStatusCode, await post.Content.ReadAsStringAsync(cts.Token));
        }

        string Key(JsonElement alert) => alerts.Single(a => a.Value.All(l =>
            alert.GetProperty("labels").TryGetProperty(l.Key, out var v) && v.GetString() == l.Value)
            && alert.GetProperty("labels").EnumerateObject().Count() == a.Value.Count).Key;

        var state = await PrometheusApi.EventuallyAsync(
            async ct => (await http.GetFromJsonAsync<JsonElement>("/api/v2/alerts", ct)).EnumerateArray()
                .ToDictionary(Key, a => (Fingerprint: a.GetProperty("fingerprint").GetString()!,
                    InhibitedBy: a.GetProperty("status").GetProperty("inhibitedBy").EnumerateArray().Select(f => f.GetString()!).ToList())),
            s => s.Count == alerts.Count && s["slow target a"].InhibitedBy.Count > 0,
            TimeSpan.FromSeconds(60), "every alert received and the down target's warning inhibited");

        Assert.Equal([state["errors a"].Fingerprint], state["errors warning a"].InhibitedBy);
        Assert.Equal([state["down a"].Fingerprint], state["slow target a"].InhibitedBy);
        foreach (var free in new[] { "errors a", "latency b", "other workload a", "down a", "same address b" })
        {
            Assert.True(state[free].InhibitedBy.Count == 0, $"{free} is inhibited by {string.Join(", ", state[free].InhibitedBy)}");
        }

        // No notification group mixes namespaces.
        var groups = await http.GetFromJsonAsync<JsonElement>("/api/v2/alerts/groups", cts.Token);
        Assert.NotEmpty(groups.EnumerateArray());
        foreach (var group in groups.EnumerateArray())
        {
            var namespaces = group.GetProperty("alerts").EnumerateArray()
                .Select(a => a.GetProperty("labels").GetProperty("namespace").GetString()).Distinct().ToList();
            Assert.Single(namespaces);
        }
    }
}
