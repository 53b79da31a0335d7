using System.Text.Json;
using System.Text.RegularExpressions;

namespace CloudApp.Deploy.Tests;

/// <summary>
/// What Grafana needs from the provisioned dashboards, checked without Grafana (it cannot run on these machines).
/// Their queries are run against a real Prometheus in tests/Integration.Tests.
/// </summary>
public sealed partial class DashboardTests
{
    private static readonly string[] Files =
        [.. Directory.GetFiles(Repository.Path("deploy", "grafana", "dashboards"), "*.json").Select(f => Path.GetFileName(f))];

    public static TheoryData<string> Dashboards => new(Files);

    [Fact]
    public void DashboardUidsAreUniqueAndFixed()
    {
        var uids = Files.Select(f => Load(f).GetProperty("uid").GetString()).ToList();

        Assert.Equal(uids.Count, uids.Distinct().Count());
        Assert.Contains("cloudapp-computeapi", uids);
        Assert.Contains("cloudapp-cluster", uids);
    }

    [Theory]
    [MemberData(nameof(Dashboards))]
    public void EveryPanelHasATitleADescriptionAQueryAndTheProvisionedDatasource(string file)
    {
        var dashboard = Load(file);
        var datasourceUid = ProvisionedDatasourceUid();
        var panels = Panels(dashboard).ToList();

        Assert.NotEmpty(panels);
        Assert.Equal(panels.Count, panels.Select(p => p.GetProperty("id").GetInt32()).Distinct().Count());
        foreach (var panel in panels)
        {
            var title = panel.GetProperty("title").GetString();
            Assert.False(string.IsNullOrWhiteSpace(title));
            Assert.False(string.IsNullOrWhiteSpace(panel.GetProperty("description").GetString()), $"{title}: description");
            Assert.Equal(datasourceUid, panel.GetProperty("datasource").GetProperty("uid").GetString());
            var targets = panel.GetProperty("targets").EnumerateArray().ToList();
            Assert.True(targets.Count > 0, $"{title}: no query");
            Assert.All(targets, t =>
            {
                Assert.False(string.IsNullOrWhiteSpace(t.GetProperty("expr").GetString()), $"{title}: empty query");
                Assert.False(string.IsNullOrWhiteSpace(t.GetProperty("refId").GetString()), $"{title}: refId");
                if (t.TryGetProperty("datasource", out var ds)) Assert.Equal(datasourceUid, ds.GetProperty("uid").GetString());
            });
            var grid = panel.GetProperty("gridPos");
            Assert.InRange(grid.GetProperty("x").GetInt32() + grid.GetProperty("w").GetInt32(), 1, 24);
        }
    }

    [Theory]
    [MemberData(nameof(Dashboards))]
    public void QueriesUseOnlyVariablesTheDashboardDefinesOrGrafanaProvides(string file)
    {
        var dashboard = Load(file);
        var defined = dashboard.GetProperty("templating").GetProperty("list").EnumerateArray()
            .Select(v => v.GetProperty("name").GetString()!)
            .Concat(["__rate_interval", "__interval", "__range"])
            .ToHashSet();

        foreach (var expr in Panels(dashboard).SelectMany(p => p.GetProperty("targets").EnumerateArray()).Select(t => t.GetProperty("expr").GetString()!))
        {
            foreach (Match variable in Variable().Matches(expr))
            {
                Assert.Contains(variable.Groups["name"].Value, defined);
            }
        }
    }

    [Fact]
    public void TheComputeApiDashboardOffersJobInstanceAndKernelVariables()
    {
        var variables = Load("computeapi.json").GetProperty("templating").GetProperty("list").EnumerateArray()
            .Select(v => v.GetProperty("name").GetString()).ToList();

        Assert.Equal(["job", "instance", "kernel"], variables);
    }

    [Fact]
    public void TheProviderLoadsTheDashboardsFolderThatTheAppHostAndTheManifestsMount()
    {
        var provider = File.ReadAllText(Repository.Path("deploy", "grafana", "provisioning", "dashboards", "cloudapp.yml"));

        Assert.Contains("/var/lib/grafana/dashboards", provider);
    }

    internal static JsonElement Load(string file) =>
        JsonSerializer.Deserialize<JsonElement>(File.ReadAllText(Repository.Path("deploy", "grafana", "dashboards", file)));

    internal static IEnumerable<JsonElement> Panels(JsonElement dashboard) =>
        dashboard.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.TryGetProperty("panels", out var nested) ? nested.EnumerateArray().Prepend(p) : [p])
            .Where(p => p.GetProperty("type").GetString() != "row");

    private static string ProvisionedDatasourceUid()
    {
        var text = File.ReadAllText(Repository.Path("deploy", "grafana", "provisioning", "datasources", "prometheus.yml"));
        return DatasourceUid().Match(text).Groups["uid"].Value;
    }

    [GeneratedRegex(@"\$\{?(?<name>[A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex Variable();

    [GeneratedRegex(@"^\s*uid:\s*(?<uid>[A-Za-z0-9_-]+)", RegexOptions.Multiline)]
    private static partial Regex DatasourceUid();
}
