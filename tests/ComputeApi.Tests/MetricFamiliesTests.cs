using System.Net;
using System.Text.RegularExpressions;

namespace CloudApp.ComputeApi.Tests;

/// <summary>The metric table of docs/metrics.md is the contract: every family it lists must be on /metrics, with that type.</summary>
public partial class MetricFamiliesTests
{
    [Fact]
    public async Task ScrapeExposesEveryFamilyTheReadmeLists()
    {
        var documented = DocumentedFamilies();
        Assert.True(documented.Count > 40, $"found only {documented.Count} families in the metrics table");

        await using var app = ComputeApiFactory.CreateOnKestrel(("Compute:MaxConcurrency", "1"), ("Compute:QueueLimit", "1"), ComputeApiFactory.AllowLongJobs);
        using var client = app.CreateClient();
        await ExerciseEveryPath(client);

        var exposition = await client.GetStringAsync("/metrics");
        var exposed = TypeLine().Matches(exposition).ToDictionary(m => m.Groups["family"].Value, m => m.Groups["type"].Value);

        var missing = documented.Keys.Where(f => !exposed.ContainsKey(f)).ToList();
        Assert.True(missing.Count == 0, $"documented but not exposed: {string.Join(", ", missing)}");
        var mistyped = documented.Where(f => exposed[f.Key] != f.Value).Select(f => $"{f.Key} ({f.Value}, exposed as {exposed[f.Key]})").ToList();
        Assert.True(mistyped.Count == 0, $"documented with another type: {string.Join(", ", mistyped)}");
    }

    [Fact]
    public async Task EveryComputeFamilyOnTheScrapeIsDocumented()
    {
        await using var app = ComputeApiFactory.CreateOnKestrel(("Compute:MaxConcurrency", "1"), ("Compute:QueueLimit", "1"), ComputeApiFactory.AllowLongJobs);
        using var client = app.CreateClient();
        await ExerciseEveryPath(client);

        var exposition = await client.GetStringAsync("/metrics");
        var compute = TypeLine().Matches(exposition).Select(m => m.Groups["family"].Value).Where(f => f.StartsWith("compute_", StringComparison.Ordinal));

        var undocumented = compute.Except(DocumentedFamilies().Keys).ToList();
        Assert.True(undocumented.Count == 0, $"exposed but not in docs/metrics.md: {string.Join(", ", undocumented)}");
    }

    /// <summary>Success on every kernel, a bad size, an unknown kernel, a wait for a slot and a full queue.</summary>
    private static async Task ExerciseEveryPath(HttpClient client)
    {
        foreach (var path in new[] { "/api/compute/primes?size=1000", "/api/compute/matmul?size=16", "/api/compute/sha256?size=1" })
        {
            using var ok = await client.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
        using (var bad = await client.GetAsync("/api/compute/primes?size=x")) Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        using (var unknown = await client.GetAsync("/api/compute/nope")) Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);

        using var stop = new CancellationTokenSource();
        var running = client.GetAsync(ComputeApiFactory.LongJob, stop.Token);
        await ComputeApiTests.Eventually(client, m => Exposition.Sample(m, "compute_jobs_active") == 1);
        var waiting = client.GetAsync(ComputeApiFactory.LongJob, stop.Token);
        await ComputeApiTests.Eventually(client, m => Exposition.Sample(m, "compute_jobs_waiting") == 1);
        using (var full = await client.GetAsync("/api/compute/primes?size=10")) Assert.Equal(HttpStatusCode.TooManyRequests, full.StatusCode);
        await stop.CancelAsync();
        await Task.WhenAll(new[] { running, waiting }.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
        await ComputeApiTests.Eventually(client, m => Exposition.Sample(m, "compute_jobs_active") == 0);
    }

    internal static Dictionary<string, string> DocumentedFamilies()
    {
        var table = File.ReadAllText(Path.Combine(RepositoryRoot.Path, "docs", "metrics.md"));
        return DocumentedRow().Matches(table).ToDictionary(m => m.Groups["family"].Value, m => m.Groups["type"].Value);
    }

    [GeneratedRegex(@"^# TYPE (?<family>[a-z_0-9]+) (?<type>\w+)", RegexOptions.Multiline)]
    private static partial Regex TypeLine();

    // Rows of the metrics table: | `family` | type | ...
    [GeneratedRegex(@"^\| `(?<family>[a-z_0-9]+)` \| (?<type>counter|gauge|histogram) \|", RegexOptions.Multiline)]
    private static partial Regex DocumentedRow();
}
