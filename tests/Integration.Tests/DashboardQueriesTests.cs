using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using CloudApp.Integration.Tests.Support;

namespace CloudApp.Integration.Tests;

/// <summary>
/// A dashboard whose queries return nothing is worse than none: every query of the ComputeApi dashboard runs
/// against a real Prometheus (with the project's rules) scraping real ComputeApi containers after a short load
/// that exercises every path: successes, bad input, a full queue, deadlines and a client that goes away.
/// </summary>
[Collection(ContainersCollection.Name)]
public sealed partial class DashboardQueriesTests(ComputeApiImage image)
{
    // Small limits so a handful of requests fills the slot and the queue and reaches the deadline.
    private static readonly Dictionary<string, string> Settings = new()
    {
        ["Compute__MaxConcurrency"] = "1",
        ["Compute__QueueLimit"] = "1",
        ["Compute__RequestTimeout"] = "00:00:01",
        ["Compute__Primes__MaxSize"] = "1000000000000",
    };

    // Runs for minutes, so it always reaches the deadline or the client's patience first.
    private const string LongJob = "/api/compute/primes?size=1000000000000";

    [Fact]
    public async Task EveryComputeApiPanelQueryParsesAndReturnsDataUnderLoad()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await using var stack = await ScrapeStack.StartAsync(image, replicas: 2, timeout.Token, Settings);
        await Task.WhenAll(Enumerable.Range(0, 2).Select(i => GenerateLoad(stack, i, timeout.Token)));

        // The recording rules work on one-minute rates: wait until the slowest of them has data.
        await PrometheusApi.EventuallyAsync(
            ct => stack.PrometheusApi.QueryAsync("job_kernel:compute_job_duration_seconds:histogram_quantile_rate1m", ct),
            r => r.Count > 0, TimeSpan.FromMinutes(2), "job duration quantiles from the recording rules");

        // Every recording and alerting rule evaluates without error on this data.
        var rules = await stack.PrometheusHttp.GetFromJsonAsync<JsonElement>("/api/v1/rules", timeout.Token);
        var failing = rules.GetProperty("data").GetProperty("groups").EnumerateArray()
            .SelectMany(g => g.GetProperty("rules").EnumerateArray())
            .Where(r => r.GetProperty("health").GetString() == "err")
            .Select(r => $"{r.GetProperty("name").GetString()}: {r.GetProperty("lastError").GetString()}")
            .ToList();
        Assert.True(failing.Count == 0, "rules failing:\n" + string.Join("\n", failing));

        var queries = Queries(DashboardFile("computeapi.json")).ToList();
        Assert.True(queries.Count > 30, $"found only {queries.Count} queries");

        // Rule groups are evaluated on their own schedules; give every panel a few evaluations to fill.
        async Task<List<string>> PanelsWithoutData(CancellationToken ct)
        {
            var empty = new List<string>();
            foreach (var (panel, expr) in queries)
            {
                var promql = Substitute(expr, instance: ".*", kernel: ".*");
                if ((await QueryAsync(stack.PrometheusHttp, promql, ct)).GetArrayLength() == 0) empty.Add($"{panel}: {promql}");
            }
            return empty;
        }
        await PrometheusApi.EventuallyAsync(PanelsWithoutData, empty => empty.Count == 0, TimeSpan.FromMinutes(2), "data in every panel");

        // Narrowed to one instance and one kernel, every query still parses.
        foreach (var (_, expr) in queries)
        {
            await QueryAsync(stack.PrometheusHttp, Substitute(expr, instance: ScrapeStack.Instance(0), kernel: "primes"), timeout.Token);
        }
    }

    [Fact]
    public async Task EveryNodePanelQueryReturnsDataAndEveryClusterPanelQueryParses()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await using var stack = await ScrapeStack.StartAsync(image, replicas: 1, timeout.Token);

        // node-exporter runs beside Prometheus as in the local stack, reading this machine: every node panel
        // (the lab's cpu, memory, disk and bandwidth rates) must show real data. Rates need two scrapes.
        var queries = Queries(DashboardFile("cluster.json"))
            .Select(q => (q.Panel, Promql: Substitute(q.Expr, instance: ".*", kernel: ".*").Replace("$namespace", ".*").Replace("$node", ".*")))
            .ToList();
        var nodePanels = queries.Where(q => q.Promql.Contains("node_", StringComparison.Ordinal)).ToList();
        Assert.True(nodePanels.Count >= 10, $"found only {nodePanels.Count} node-exporter queries");

        async Task<List<string>> PanelsWithoutData(CancellationToken ct)
        {
            var empty = new List<string>();
            foreach (var (panel, promql) in nodePanels)
            {
                if ((await QueryAsync(stack.PrometheusHttp, promql, ct)).GetArrayLength() == 0) empty.Add($"{panel}: {promql}");
            }
            return empty;
        }
        await PrometheusApi.EventuallyAsync(PanelsWithoutData, empty => empty.Count == 0, TimeSpan.FromMinutes(2), "data in every node panel");

        // The kubelet's cAdvisor exists only in a cluster: those queries can only be checked for syntax here.
        foreach (var (_, promql) in queries.Except(nodePanels))
        {
            await QueryAsync(stack.PrometheusHttp, promql, timeout.Token);
        }
    }

    [Fact]
    public async Task EveryVariableOfTheComputeApiDashboardHasValuesBeforeAnyComputeJob()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using var stack = await ScrapeStack.StartAsync(image, replicas: 1, timeout.Token);

        var dashboard = JsonSerializer.Deserialize<JsonElement>(File.ReadAllText(DashboardFile("computeapi.json")));
        var variables = dashboard.GetProperty("templating").GetProperty("list").EnumerateArray()
            .Select(v => (Name: v.GetProperty("name").GetString()!, Query: v.GetProperty("definition").GetString()!))
            .ToList();
        Assert.Equal(["job", "instance", "kernel"], variables.Select(v => v.Name));

        // What Grafana asks Prometheus for a label_values(selector, label) variable, with no compute job run yet.
        foreach (var (name, query) in variables)
        {
            var match = LabelValues().Match(Substitute(query, instance: ".*", kernel: ".*"));
            Assert.True(match.Success, $"{name}: {query}");
            var values = await PrometheusApi.EventuallyAsync(async ct =>
                {
                    var body = await stack.PrometheusHttp.GetFromJsonAsync<JsonElement>(
                        $"/api/v1/label/{match.Groups["label"].Value}/values?match[]={Uri.EscapeDataString(match.Groups["selector"].Value)}", ct);
                    return body.GetProperty("data").EnumerateArray().Select(e => e.GetString()!).ToList();
                },
                v => v.Count > 0, TimeSpan.FromMinutes(1), $"values of the {name} variable");
            Assert.NotEmpty(values);
        }
        var jobs = await stack.PrometheusApi.QueryAsync("sum(compute_jobs_total)", timeout.Token);
        Assert.Empty(jobs);
    }

    [GeneratedRegex(@"^label_values\((?<selector>.+), (?<label>\w+)\)$")]
    private static partial Regex LabelValues();

    private static async Task GenerateLoad(ScrapeStack stack, int index, CancellationToken cancellationToken)
    {
        using var client = stack.ComputeApiClient(index);
        foreach (var path in new[] { "primes?size=1000000", "primes?size=2000000", "matmul?size=128", "matmul?size=64", "sha256?size=4", "sha256?size=1" })
        {
            using var ok = await client.GetAsync($"/api/compute/{path}", cancellationToken);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
        using (var bad = await client.GetAsync("/api/compute/primes?size=-1", cancellationToken)) Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        using (var unknown = await client.GetAsync("/api/compute/fibonacci", cancellationToken)) Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);

        // One job takes the slot and one waits, both until the 1 s deadline (504); a third finds the queue full (429).
        var running = client.GetAsync(LongJob, cancellationToken);
        await Task.Delay(200, cancellationToken);
        var waiting = client.GetAsync(LongJob, cancellationToken);
        await Task.Delay(200, cancellationToken);
        using (var full = await client.GetAsync("/api/compute/sha256?size=1", cancellationToken)) Assert.Equal(HttpStatusCode.TooManyRequests, full.StatusCode);
        using (var first = await running) Assert.Equal(HttpStatusCode.GatewayTimeout, first.StatusCode);
        using (var second = await waiting) Assert.Equal(HttpStatusCode.GatewayTimeout, second.StatusCode);

        // A client that gives up: the job is cancelled.
        using var impatient = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetAsync(LongJob, impatient.Token));
    }

    private static string DashboardFile(string name) => Path.Combine(Repository.Root, "deploy", "grafana", "dashboards", name);

    /// <summary>(panel title, expression) of every query, annotation queries included.</summary>
    private static IEnumerable<(string Panel, string Expr)> Queries(string file)
    {
        var dashboard = JsonSerializer.Deserialize<JsonElement>(File.ReadAllText(file));
        var panels = dashboard.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.TryGetProperty("panels", out var nested) ? nested.EnumerateArray().Prepend(p) : [p]);
        foreach (var panel in panels.Where(p => p.TryGetProperty("targets", out _)))
        {
            foreach (var target in panel.GetProperty("targets").EnumerateArray())
            {
                yield return (panel.GetProperty("title").GetString()!, target.GetProperty("expr").GetString()!);
            }
        }
    }

    /// <summary>What Grafana sends: variables replaced by their values, interval variables by durations.</summary>
    private static string Substitute(string expr, string instance, string kernel) => Variable().Replace(expr, m => m.Groups["name"].Value switch
    {
        "job" => "computeapi",
        "instance" => Regex.Escape(instance).Replace(@"\.\*", ".*", StringComparison.Ordinal),
        "kernel" => kernel,
        "__rate_interval" => "1m",
        "__interval" => "15s",
        "__range" => "5m",
        _ => m.Value,
    });

    private static async Task<JsonElement> QueryAsync(HttpClient prometheus, string promql, CancellationToken cancellationToken)
    {
        using var response = await prometheus.GetAsync($"/api/v1/query?query={Uri.EscapeDataString(promql)}", cancellationToken);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
        Assert.True(response.IsSuccessStatusCode && body.GetProperty("status").GetString() == "success", $"{promql}\n{body}");
        return body.GetProperty("data").GetProperty("result");
    }

    [GeneratedRegex(@"\$\{?(?<name>[A-Za-z_][A-Za-z0-9_]*)\}?")]
    private static partial Regex Variable();
}
