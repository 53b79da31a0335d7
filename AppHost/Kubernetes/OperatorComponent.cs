using System.Globalization;
using CloudApp.AppHost.Prometheus;
using YamlDotNet.RepresentationModel;

namespace CloudApp.AppHost.Kubernetes;

/// <summary>
/// A kustomize component for clusters that run the Prometheus Operator (kube-prometheus-stack), which bring their
/// own Prometheus, Alertmanager, Grafana and kube-state-metrics: it removes the install's own (every workload
/// marked <see cref="KubernetesWorkload.ProvidedByOperatorStack"/>, with its Service, ConfigMaps and RBAC) and adds
/// the remaining scrape targets as PodMonitor or ServiceMonitor objects, the rule files as PrometheusRule objects
/// (the groups taken unchanged, so promtool's unit tests hold for them too) and the dashboards as a ConfigMap
/// labelled for Grafana's dashboard sidecar. Every added object carries <see cref="ReleaseLabel"/>, which the
/// Operator's Prometheus selects on; an overlay sets its value with one patch (deploy/k8s/overlays/prometheus-operator).
/// </summary>
public static class OperatorComponent
{
    public const string Directory = "prometheus-operator";

    /// <summary>kube-prometheus-stack's Prometheus selects monitors and rules labelled with its Helm release.</summary>
    public const string ReleaseLabel = "release";

    public const string DefaultRelease = "kube-prometheus-stack";

    /// <summary>The label (and value) kube-prometheus-stack's Grafana sidecar loads dashboards from.</summary>
    public const string DashboardLabel = "grafana_dashboard";

    private const string DashboardsFolder = "dashboards";

    /// <summary>Writes the component into <paramref name="output"/>/<see cref="Directory"/>, replacing what was there.</summary>
    public static void Write(DistributedApplicationModel model, Manifests manifests, ManifestSettings settings, string output, string header)
    {
        var directory = Path.Combine(output, Directory);
        if (System.IO.Directory.Exists(directory)) System.IO.Directory.Delete(directory, recursive: true);
        System.IO.Directory.CreateDirectory(Path.Combine(directory, DashboardsFolder));

        var prometheus = model.Resources.OfType<PrometheusResource>().Single();
        var (interval, timeout) = PrometheusResource.ScrapeTimings(MountSource(prometheus, PrometheusResource.ConfigFile));
        var labels = new Dictionary<string, string>
        {
            ["app.kubernetes.io/part-of"] = settings.PartOf,
            ["app.kubernetes.io/managed-by"] = settings.ManagedBy,
            [ReleaseLabel] = DefaultRelease,
        };

        var workloads = model.Resources.Where(r => !r.IsExcludedFromPublish())
            .Select(r => (r.Name, r.Annotations.OfType<KubernetesWorkloadAnnotation>().SingleOrDefault()?.Workload))
            .Where(w => w.Workload is not null).ToList();
        var monitors = new YamlStream();
        foreach (var (name, workload) in workloads.Where(w => !w.Workload!.ProvidedByOperatorStack))
        {
            if (workload!.Scrape is not { } scrape) continue;
            monitors.Documents.Add(new YamlDocument(Monitor(name, workload, scrape, settings, labels, interval, timeout)));
        }
        Save(monitors, Path.Combine(directory, "monitors.yaml"), header);

        var rules = new YamlStream();
        foreach (var file in System.IO.Directory.GetFiles(MountSource(prometheus, PrometheusResource.RulesDirectory), "*.yml").Order(StringComparer.Ordinal))
        {
            rules.Documents.Add(new YamlDocument(Rule(file, settings, labels)));
        }
        Save(rules, Path.Combine(directory, "rules.yaml"), header);

        var dashboards = model.Resources.SelectMany(r => r.Annotations.OfType<ContainerMountAnnotation>())
            .Where(m => m.Target == Grafana.GrafanaResource.DashboardsDirectory && m.Source is not null)
            .SelectMany(m => System.IO.Directory.GetFiles(m.Source!, "*.json")).Order(StringComparer.Ordinal).ToList();
        foreach (var dashboard in dashboards)
        {
            File.Copy(dashboard, Path.Combine(directory, DashboardsFolder, Path.GetFileName(dashboard)));
        }

        // The install's own monitoring stack, object by object: everything generated for those workloads.
        var replaced = workloads.Where(w => w.Workload!.ProvidedByOperatorStack).Select(w => w.Name).ToHashSet(StringComparer.Ordinal);
        var removed = manifests.Application.Files.Where(f => replaced.Contains(Path.GetFileNameWithoutExtension(f.Name))).SelectMany(f => f.Objects)
            .Concat(manifests.Application.ConfigMaps.Where(c => replaced.Contains(c.Metadata.Labels["app.kubernetes.io/name"])))
            .Select(o => new YamlMappingNode(
                "patch", Literal($"$patch: delete\napiVersion: {o.ApiVersion}\nkind: {o.Kind}\nmetadata:\n  name: {o.Metadata.Name}\n"
                    + (o.Metadata.NamespaceProperty is { } ns ? $"  namespace: {ns}\n" : ""))));

        var kustomization = new YamlMappingNode(
            "apiVersion", "kustomize.config.k8s.io/v1alpha1",
            "kind", "Component",
            "resources", new YamlSequenceNode(new YamlScalarNode("monitors.yaml"), new YamlScalarNode("rules.yaml")),
            "patches", new YamlSequenceNode(removed),
            "configMapGenerator", new YamlSequenceNode(new YamlMappingNode(
                "name", $"{settings.PartOf}-dashboards",
                "namespace", settings.Namespace,
                "files", new YamlSequenceNode(dashboards.Select(d => new YamlScalarNode($"{DashboardsFolder}/{Path.GetFileName(d)}"))),
                "options", new YamlMappingNode(
                    "labels", Labels(new Dictionary<string, string>(labels) { [DashboardLabel] = "1" }),
                    "disableNameSuffixHash", Plain("true")))));
        Save(new YamlStream(new YamlDocument(kustomization)), Path.Combine(directory, ManifestWriter.KustomizationFile), header);
    }

    /// <summary>A PodMonitor (pods annotated for scraping) or ServiceMonitor (an annotated Service) selecting the workload's pods.</summary>
    private static YamlMappingNode Monitor(string name, KubernetesWorkload workload, PrometheusScrape scrape, ManifestSettings settings,
        Dictionary<string, string> labels, string interval, string timeout)
    {
        var endpoint = new YamlMappingNode(
            "port", KubernetesWorkload.EndpointName,
            "path", scrape.Path,
            "interval", interval,
            "scrapeTimeout", timeout,
            // Named by the pod, as the plain configuration's jobs name it (legends and per-instance rules).
            "relabelings", new YamlSequenceNode(new YamlMappingNode(
                "sourceLabels", new YamlSequenceNode(new YamlScalarNode("__meta_kubernetes_pod_name")),
                "targetLabel", "instance")));
        var (kind, endpoints) = scrape.Via == ScrapeVia.Pod ? ("PodMonitor", "podMetricsEndpoints") : ("ServiceMonitor", "endpoints");
        return new YamlMappingNode(
            "apiVersion", "monitoring.coreos.com/v1",
            "kind", kind,
            "metadata", new YamlMappingNode(
                "name", name,
                "namespace", workload.NodeAgent is null ? settings.Namespace : settings.AgentNamespace,
                "labels", Labels(new Dictionary<string, string>(labels) { ["app.kubernetes.io/name"] = name })),
            "spec", new YamlMappingNode(
                "selector", new YamlMappingNode("matchLabels", Labels(new Dictionary<string, string>
                {
                    ["app.kubernetes.io/name"] = name,
                    ["app.kubernetes.io/instance"] = settings.PartOf,
                })),
                endpoints, new YamlSequenceNode(endpoint)));
    }

    /// <summary>A PrometheusRule whose groups are the rule file's own nodes, scalars and styles as written.</summary>
    private static YamlMappingNode Rule(string file, ManifestSettings settings, Dictionary<string, string> labels)
    {
        var stream = new YamlStream();
        using (var reader = new StringReader(RunbookLinks.Rebase(File.ReadAllText(file), settings.RunbookUrl)))
        {
            stream.Load(reader);
        }
        var groups = ((YamlMappingNode)stream.Documents[0].RootNode)[new YamlScalarNode("groups")];
        var name = $"{settings.PartOf}-{ConfigMaps.Slug(Path.GetFileNameWithoutExtension(file).Replace(".rules", "", StringComparison.Ordinal))}";
        return new YamlMappingNode(
            "apiVersion", "monitoring.coreos.com/v1",
            "kind", "PrometheusRule",
            "metadata", new YamlMappingNode("name", name, "namespace", settings.Namespace, "labels", Labels(labels)),
            "spec", new YamlMappingNode("groups", groups));
    }

    private static string MountSource(IResource resource, string target) =>
        resource.Annotations.OfType<ContainerMountAnnotation>().Single(m => m.Target == target).Source
        ?? throw new InvalidOperationException($"'{resource.Name}' mounts nothing at {target}.");

    private static YamlMappingNode Labels(IDictionary<string, string> labels) =>
        new(labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l =>
            KeyValuePair.Create<YamlNode, YamlNode>(new YamlScalarNode(l.Key), Quoted(l.Value))));

    /// <summary>Label values are strings: quoted where YAML would read them as something else ("1", "true").</summary>
    private static YamlScalarNode Quoted(string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _) || bool.TryParse(value, out _)
            ? new YamlScalarNode(value) { Style = YamlDotNet.Core.ScalarStyle.DoubleQuoted }
            : new YamlScalarNode(value);

    private static YamlScalarNode Literal(string value) => new(value) { Style = YamlDotNet.Core.ScalarStyle.Literal };

    private static YamlScalarNode Plain(string value) => new(value) { Style = YamlDotNet.Core.ScalarStyle.Plain };

    private static void Save(YamlStream stream, string path, string header)
    {
        using var writer = new StringWriter { NewLine = "\n" };
        stream.Save(writer, assignAnchors: false);
        // YamlStream ends each document with "...": a plain "---" between documents reads like the other files.
        var text = writer.ToString().Replace("\n...\n", "\n---\n", StringComparison.Ordinal).TrimEnd('\n', '-').TrimEnd() + "\n";
        File.WriteAllText(path, header + text);
    }
}
