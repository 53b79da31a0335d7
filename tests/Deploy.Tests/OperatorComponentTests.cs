using YamlDotNet.RepresentationModel;

namespace CloudApp.Deploy.Tests;

/// <summary>
/// deploy/k8s/overlays/prometheus-operator, the way a cluster running kube-prometheus-stack takes the project: its
/// own monitoring stack gone, ComputeApi scraped through a PodMonitor as the plain configuration scrapes it, the
/// rules as PrometheusRule objects that pass promtool and the project's rule unit tests once taken back out, the
/// dashboards in a ConfigMap for Grafana's sidecar, and the release label set in one place. The objects are checked
/// against the Operator's published schema in <see cref="SchemaValidationTests"/>.
/// </summary>
public sealed class OperatorComponentTests
{
    private const string Release = "monitoring";

    [Fact]
    public async Task ReplacesTheMonitoringStackWithTheOperatorsObjects()
    {
        var documents = await RenderAsync();
        string Kind(YamlMappingNode d) => d["kind"].ToString();
        string Name(YamlMappingNode d) => ((YamlMappingNode)d["metadata"])["name"].ToString();
        IReadOnlyDictionary<string, string> Labels(YamlMappingNode d) =>
            ((YamlMappingNode)d["metadata"]).Children.TryGetValue(new YamlScalarNode("labels"), out var labels)
                ? ((YamlMappingNode)labels).Children.ToDictionary(l => l.Key.ToString(), l => l.Value.ToString())
                : new Dictionary<string, string>();

        // ComputeApi stays; Prometheus, Alertmanager, Grafana, kube-state-metrics and everything of theirs go.
        Assert.Equal(["computeapi"], documents.Where(d => Kind(d) == "Deployment").Select(Name));
        Assert.DoesNotContain(documents, d => Kind(d) is "ClusterRole" or "ClusterRoleBinding" or "Role" or "RoleBinding" or "ServiceAccount");
        Assert.Equal(["computeapi"], documents.Where(d => Kind(d) == "Service").Select(Name));

        // The PodMonitor scrapes what the pods' annotations name, as often as the plain configuration does.
        var computeapi = documents.Single(d => Kind(d) == "Deployment");
        var template = (YamlMappingNode)((YamlMappingNode)computeapi["spec"])["template"];
        var annotations = (YamlMappingNode)((YamlMappingNode)template["metadata"])["annotations"];
        var podLabels = ((YamlMappingNode)((YamlMappingNode)template["metadata"])["labels"]).Children.ToDictionary(l => l.Key.ToString(), l => l.Value.ToString());
        var monitor = Assert.Single(documents, d => Kind(d) is "PodMonitor" or "ServiceMonitor");
        Assert.Equal("PodMonitor", Kind(monitor));
        var spec = (YamlMappingNode)monitor["spec"];
        var selector = ((YamlMappingNode)((YamlMappingNode)spec["selector"])["matchLabels"]).Children;
        Assert.All(selector, s => Assert.Equal(s.Value.ToString(), podLabels[s.Key.ToString()]));
        var endpoint = (YamlMappingNode)Assert.Single((YamlSequenceNode)spec["podMetricsEndpoints"]);
        Assert.Equal(annotations["prometheus.io/path"].ToString(), endpoint["path"].ToString());
        var ports = (YamlSequenceNode)((YamlMappingNode)((YamlSequenceNode)((YamlMappingNode)template["spec"])["containers"])[0])["ports"];
        Assert.Contains(ports.Cast<YamlMappingNode>(), p => p["name"].ToString() == endpoint["port"].ToString()
            && p["containerPort"].ToString() == annotations["prometheus.io/port"].ToString());
        var plain = File.ReadAllText(Repository.Path("deploy", "prometheus", "kubernetes", "prometheus.yml"));
        Assert.Contains($"scrape_interval: {endpoint["interval"]}", plain);
        Assert.Contains($"scrape_timeout: {endpoint["scrapeTimeout"]}", plain);

        // The dashboards, unchanged, for the sidecar.
        var dashboards = documents.Single(d => Kind(d) == "ConfigMap" && Labels(d).GetValueOrDefault("grafana_dashboard") == "1");
        var data = (YamlMappingNode)dashboards["data"];
        foreach (var file in Directory.GetFiles(Repository.Path("deploy", "grafana", "dashboards"), "*.json"))
        {
            Assert.Equal(File.ReadAllText(file), data[Path.GetFileName(file)].ToString());
        }
        Assert.DoesNotContain(documents, d => Kind(d) == "ConfigMap" && !Labels(d).ContainsKey("grafana_dashboard"));

        // One patch of the overlay set the release on every object the Operator and its Grafana select.
        var selected = documents.Where(d => d["apiVersion"].ToString().StartsWith("monitoring.coreos.com/", StringComparison.Ordinal)).Append(dashboards).ToList();
        Assert.True(selected.Count >= 3);
        Assert.All(selected, d => Assert.Equal(Release, Labels(d)["release"]));
    }

    [Fact]
    public async Task RulesTakenBackOutOfThePrometheusRulesPassPromtoolAndTheRuleUnitTests()
    {
        var rules = (await RenderAsync()).Where(d => d["kind"].ToString() == "PrometheusRule").ToList();
        Assert.NotEmpty(rules);

        // The project's layout, deploy/prometheus/{rules,tests}, with the rule files rebuilt from the objects.
        var root = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"cloudapp-operator-rules-{Guid.NewGuid():N}"));
        try
        {
            Directory.CreateDirectory(Path.Combine(root.FullName, "rules"));
            foreach (var rule in rules)
            {
                var name = ((YamlMappingNode)rule["metadata"])["name"].ToString()["cloudapp-".Length..];
                var file = new YamlStream(new YamlDocument(new YamlMappingNode("groups", ((YamlMappingNode)rule["spec"])["groups"])));
                using var writer = new StreamWriter(Path.Combine(root.FullName, "rules", $"{name}.rules.yml"));
                file.Save(writer, assignAnchors: false);
            }
            var source = Directory.GetFiles(Repository.Path("deploy", "prometheus", "rules"), "*.yml").Select(Path.GetFileName).Order();
            Assert.Equal(source, Directory.GetFiles(Path.Combine(root.FullName, "rules")).Select(Path.GetFileName).Order());
            Directory.CreateDirectory(Path.Combine(root.FullName, "tests"));
            var tests = Directory.GetFiles(Repository.Path("deploy", "prometheus", "tests"), "*.test.yml");
            foreach (var test in tests) File.Copy(test, Path.Combine(root.FullName, "tests", Path.GetFileName(test)));

            var check = await ImageTool.PromtoolIn(root.FullName, "rules", ["check", "rules", .. Directory.GetFiles(Path.Combine(root.FullName, "rules")).Select(Path.GetFileName)!]);
            Assert.True(check.ExitCode == 0, check.ToString());
            var unit = await ImageTool.PromtoolIn(root.FullName, "tests", ["test", "rules", .. tests.Select(Path.GetFileName)!]);
            Assert.True(unit.ExitCode == 0, unit.ToString());
            Assert.DoesNotContain("FAILED", unit.Output + unit.Error);
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    /// <summary>The committed overlay, with its release patch set to <see cref="Release"/> as a user sets it.</summary>
    private static async Task<List<YamlMappingNode>> RenderAsync()
    {
        var overlay = File.ReadAllText(Path.Combine(Manifests.Directory, "overlays", "prometheus-operator", "kustomization.yaml"));
        const string value = "value: kube-prometheus-stack";
        Assert.Contains(value, overlay);
        var result = await Manifests.KustomizeAsync(root =>
        {
            var folder = Path.Combine(root, "k8s", "overlays", "prometheus-operator");
            File.WriteAllText(Path.Combine(folder, "kustomization.yaml"), overlay.Replace(value, $"value: {Release}", StringComparison.Ordinal));
            File.WriteAllText(Path.Combine(root, "kustomization.yaml"), "resources: [k8s/overlays/prometheus-operator]\n");
        });
        Assert.True(result.ExitCode == 0, result.ToString());
        var stream = new YamlStream();
        stream.Load(new StringReader(result.Output));
        return [.. stream.Documents.Select(d => (YamlMappingNode)d.RootNode)];
    }
}
