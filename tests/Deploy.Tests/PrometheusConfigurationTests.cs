using YamlDotNet.RepresentationModel;

namespace CloudApp.Deploy.Tests;

/// <summary>
/// Both Prometheus configurations and the rules, checked by the promtool of the Prometheus image the stack runs,
/// and the rule unit tests run by it.
/// </summary>
public sealed class PrometheusConfigurationTests
{
    [Theory]
    [InlineData("prometheus.yml")]
    [InlineData("kubernetes/prometheus.yml")]
    public async Task ConfigurationPassesPromtool(string file)
    {
        // --syntax-only: the files these name (rules under /etc/prometheus, the service account's token) exist in
        // the container and the pod, not here; the rules are checked on their own below.
        var result = await ImageTool.Promtool(["check", "config", "--syntax-only", file]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("SUCCESS", result.Output);
    }

    /// <summary>
    /// Prometheus reads its own configuration, not deploy/images.json, so the ports there are written again: they must be
    /// the ports of the images' records (its own, Alertmanager's and node-exporter's).
    /// </summary>
    [Theory]
    [InlineData("prometheus.yml", "node-exporter:")]
    [InlineData("kubernetes/prometheus.yml", "replacement: $1:")]
    public void ConfigurationNamesThePortsOfTheImages(string file, string nodeExporterTarget)
    {
        var records = Repository.Images.Records;
        var configuration = File.ReadAllText(Repository.Path(["deploy", "prometheus", .. file.Split('/')]));

        Assert.Contains($"targets: [localhost:{records.Prometheus.Port}]", configuration, StringComparison.Ordinal);
        Assert.Contains($"targets: [alertmanager:{records.Alertmanager.Port}]", configuration, StringComparison.Ordinal);
        Assert.Contains($"{nodeExporterTarget}{records.NodeExporter.Port}", configuration, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RulesPassPromtool()
    {
        var rules = Directory.GetFiles(Repository.Path("deploy", "prometheus", "rules"), "*.yml").Select(f => $"rules/{Path.GetFileName(f)}");
        var result = await ImageTool.Promtool(["check", "rules", .. rules]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("SUCCESS", result.Output);
    }

    [Fact]
    public async Task RuleUnitTestsPass()
    {
        var tests = Directory.GetFiles(Repository.Path("deploy", "prometheus", "tests"), "*.test.yml").Select(Path.GetFileName).ToArray();
        Assert.NotEmpty(tests);

        var result = await ImageTool.Promtool(["test", "rules", .. tests!], directory: "tests");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("FAILED", result.Output + result.Error);
    }

    [Fact]
    public void EveryAlertHasAUnitTestWhereItFiresAndOneWhereItDoesNot()
    {
        var alerts = Documents(Directory.GetFiles(Repository.Path("deploy", "prometheus", "rules"), "*.yml"))
            .SelectMany(d => Sequence(d, "groups"))
            .SelectMany(g => Sequence(g, "rules"))
            .Select(r => Scalar(r, "alert"))
            .OfType<string>()
            .ToList();
        Assert.True(alerts.Count >= 6, $"expected the alerts of the issue, found {string.Join(", ", alerts)}");

        var cases = Documents(Directory.GetFiles(Repository.Path("deploy", "prometheus", "tests"), "*.test.yml"))
            .SelectMany(d => Sequence(d, "tests"))
            .SelectMany(t => Sequence(t, "alert_rule_test"))
            .Select(c => (Alert: Scalar(c, "alertname"), Fires: Sequence(c, "exp_alerts").Any()))
            .ToList();

        foreach (var alert in alerts)
        {
            Assert.True(cases.Any(c => c.Alert == alert && c.Fires), $"no test case where {alert} fires");
            Assert.True(cases.Any(c => c.Alert == alert && !c.Fires), $"no test case where {alert} must not fire");
        }
    }

    [Fact]
    public void EveryAlertSaysHowBadItIsAndWhatHappened()
    {
        var rules = Documents(Directory.GetFiles(Repository.Path("deploy", "prometheus", "rules"), "*.yml"))
            .SelectMany(d => Sequence(d, "groups")).SelectMany(g => Sequence(g, "rules"))
            .Where(r => Scalar(r, "alert") is not null);

        Assert.All(rules, r =>
        {
            var name = Scalar(r, "alert");
            var labels = (YamlMappingNode)r.Children[new YamlScalarNode("labels")];
            Assert.Contains(Scalar(labels, "severity"), new[] { "critical", "warning", "info" });
            var annotations = (YamlMappingNode)r.Children[new YamlScalarNode("annotations")];
            Assert.False(string.IsNullOrWhiteSpace(Scalar(annotations, "summary")), $"{name}: summary");
            Assert.False(string.IsNullOrWhiteSpace(Scalar(annotations, "description")), $"{name}: description");
        });
    }

    [Fact]
    public void EveryAlertLinksItsSectionOfTheRunbook()
    {
        var headings = File.ReadAllLines(Repository.Path("docs", "runbook.md"))
            .Where(l => l.StartsWith("## ", StringComparison.Ordinal))
            .Select(l => l[3..].Trim().ToLowerInvariant())
            .ToHashSet();
        var alerts = Documents(Directory.GetFiles(Repository.Path("deploy", "prometheus", "rules"), "*.yml"))
            .SelectMany(d => Sequence(d, "groups")).SelectMany(g => Sequence(g, "rules"))
            .Where(r => Scalar(r, "alert") is not null)
            .ToList();
        Assert.NotEmpty(alerts);

        // kube-prometheus' convention: an absolute runbook_url, one document for every alert, the alert's own anchor.
        var links = alerts.Select(r => (Alert: Scalar(r, "alert")!,
            Url: new Uri(Scalar((YamlMappingNode)r.Children[new YamlScalarNode("annotations")], "runbook_url")!, UriKind.Absolute))).ToList();
        Assert.Single(links.Select(l => l.Url.GetLeftPart(UriPartial.Path)).Distinct());
        Assert.EndsWith("/docs/runbook.md", links[0].Url.AbsolutePath, StringComparison.Ordinal);
        Assert.All(links, l =>
        {
            Assert.Equal("https", l.Url.Scheme);
            Assert.Equal($"#{l.Alert.ToLowerInvariant()}", l.Url.Fragment);
            Assert.Contains(l.Alert.ToLowerInvariant(), headings);
        });
    }

    private static IEnumerable<YamlMappingNode> Documents(IEnumerable<string> files) => files.Select(f =>
    {
        var stream = new YamlStream();
        using var reader = new StringReader(File.ReadAllText(f));
        stream.Load(reader);
        return (YamlMappingNode)stream.Documents[0].RootNode;
    });

    private static IEnumerable<YamlMappingNode> Sequence(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var child) && child is YamlSequenceNode sequence
            ? sequence.Children.OfType<YamlMappingNode>()
            : [];

    private static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var child) && child is YamlScalarNode scalar ? scalar.Value : null;
}
