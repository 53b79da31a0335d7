using System.Net.Http.Json;
using System.Text.Json;
using CloudApp.Integration.Tests.Support;
using YamlDotNet.RepresentationModel;

namespace CloudApp.Integration.Tests;

/// <summary>
/// The relabeling of the Kubernetes configuration (deploy/prometheus/kubernetes/prometheus.yml), run by a real
/// Prometheus. No Kubernetes API runs here, so the discovery is replaced by file-based discovery that hands
/// Prometheus the same <c>__meta_kubernetes_*</c> labels Kubernetes discovery would; the relabel rules are the
/// file's own, unchanged, and the kept target is a real ComputeApi container that must be scraped.
/// </summary>
[Collection(ScrapeWaitsCollection.Name)]
public sealed class KubernetesRelabelingTests(ComputeApiImage image)
{
    private const string PodsJob = "kubernetes-pods";
    private const string EndpointsJob = "kubernetes-service-endpoints";
    private const string NodeExporterJob = "node-exporter";

    [Fact]
    public Task KeepsAnnotatedRunningPodsWithTheirLabelsAndDropsTheRest() => WithDiscoveredTargetsAsync(async (stack, timeout) =>
    {
        var kept = await PrometheusApi.EventuallyAsync(
            ct => stack.PrometheusApi.TargetsAsync(PodsJob, ct),
            t => t.Count == 2 && t.All(target => target.Health == "up"), TimeSpan.FromSeconds(90), "the annotated pods scraped");
        // The address port comes from the prometheus.io/port annotation, not from what discovery reported.
        // The instance is the pod's name (legends show it, not an address), a DaemonSet's pod's too: unique per target.
        Assert.Equal(
            [("computeapi-7d4b9c-x2k8p", ScrapeStack.Instance(0)), ("some-agent-q7w2z", "node-exporter:9100")],
            kept.Select(target => (target.Instance, target.ScrapeUrl.Authority)).Order());

        var series = await stack.PrometheusApi.QueryAsync($$"""up{job="{{PodsJob}}", pod="computeapi-7d4b9c-x2k8p"}""", timeout);
        var labels = Assert.Single(series).Labels;
        Assert.Equal("cloudapp", labels["namespace"]);
        Assert.Equal("computeapi-7d4b9c-x2k8p", labels["instance"]);
        Assert.Equal("node-a", labels["node"]);
        Assert.Equal("computeapi", labels["app_kubernetes_io_name"]);

        var dropped = await DroppedAsync(stack, timeout);
        Assert.Contains(dropped, d => d.Job == PodsJob && d.Pod == "unannotated-pod");
        Assert.Contains(dropped, d => d.Job == PodsJob && d.Pod == "finished-job-pod");

        // The project's rules recognise the pod as ComputeApi by its app.kubernetes.io/name label.
        await PrometheusApi.EventuallyAsync(
            ct => stack.PrometheusApi.QueryAsync($$"""instance:computeapi_target:group{job="{{PodsJob}}"}""", ct),
            r => r.Count == 1, TimeSpan.FromSeconds(60), "the ComputeApi marker rule for the Kubernetes pod");
    });

    [Fact]
    public Task ScrapesPort9100OfEveryNodeNamedByTheNode() => WithDiscoveredTargetsAsync(async (stack, timeout) =>
    {
        // Node discovery reports the kubelet's address; node-exporter (this project's agent, or one the cluster
        // already runs on the host network) answers on port 9100 of the same address.
        var target = Assert.Single(await PrometheusApi.EventuallyAsync(
            ct => stack.PrometheusApi.TargetsAsync(NodeExporterJob, ct),
            t => t.Count == 1 && t[0].Health == "up", TimeSpan.FromSeconds(90), "node-exporter on the node scraped"));
        Assert.Equal(("node-b", "node-exporter:9100"), (target.Instance, target.ScrapeUrl.Authority));

        var labels = Assert.Single(await stack.PrometheusApi.QueryAsync($$"""up{job="{{NodeExporterJob}}"}""", timeout)).Labels;
        Assert.Equal("node-b", labels["node"]);
        Assert.NotEmpty(await stack.PrometheusApi.QueryAsync($$"""node_uname_info{job="{{NodeExporterJob}}", instance="node-b"}""", timeout));
    });

    [Fact]
    public Task KeepsReadyEndpointsOfAnnotatedServicesAndDropsTheRest() => WithDiscoveredTargetsAsync(async (stack, timeout) =>
    {
        var kept = await PrometheusApi.EventuallyAsync(
            ct => stack.PrometheusApi.TargetsAsync(EndpointsJob, ct),
            t => t.Count == 1 && t[0].Health == "up", TimeSpan.FromSeconds(90), "the annotated service's endpoint scraped");
        Assert.Equal(ScrapeStack.Instance(0), kept[0].ScrapeUrl.Authority);
        Assert.Equal("annotated-service-pod", kept[0].Instance);

        var labels = Assert.Single(await stack.PrometheusApi.QueryAsync($$"""up{job="{{EndpointsJob}}"}""", timeout)).Labels;
        Assert.Equal("annotated-service", labels["service"]);
        Assert.Equal("cloudapp", labels["namespace"]);

        var dropped = await DroppedAsync(stack, timeout);
        Assert.Contains(dropped, d => d.Job == EndpointsJob && d.Service == "plain-service");
        Assert.Contains(dropped, d => d.Job == EndpointsJob && d.Service == "not-ready-service");
    });

    /// <summary>
    /// Runs <paramref name="test"/> against a Prometheus with the Kubernetes relabeling, fed the discovered targets of
    /// <see cref="WriteDiscoveredTargets"/>, next to one real ComputeApi container.
    /// </summary>
    private async Task WithDiscoveredTargetsAsync(Func<ScrapeStack, CancellationToken, Task> test)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var config = FileDiscoveryVariant();
        try
        {
            await using var stack = await ScrapeStack.StartAsync(image, replicas: 1, cts.Token, prometheusConfig: config, targets: WriteDiscoveredTargets);
            await test(stack, cts.Token);
        }
        finally
        {
            File.Delete(config);
        }
    }

    /// <summary>The Kubernetes configuration with each kubernetes_sd_configs replaced by a file_sd_configs of the job.</summary>
    private static string FileDiscoveryVariant()
    {
        var stream = new YamlStream();
        using (var reader = new StringReader(File.ReadAllText(Path.Combine(Repository.PrometheusConfig, "kubernetes", "prometheus.yml"))))
        {
            stream.Load(reader);
        }
        var root = (YamlMappingNode)stream.Documents[0].RootNode;
        var jobs = (YamlSequenceNode)root.Children[new YamlScalarNode("scrape_configs")];
        foreach (var job in jobs.Children.Cast<YamlMappingNode>())
        {
            var name = ((YamlScalarNode)job.Children[new YamlScalarNode("job_name")]).Value;
            if (!job.Children.Remove(new YamlScalarNode("kubernetes_sd_configs"))) continue;
            job.Children.Add("file_sd_configs", new YamlSequenceNode(new YamlMappingNode(
                "files", new YamlSequenceNode(new YamlScalarNode($"/etc/prometheus/targets/{name}.json")),
                "refresh_interval", "5s")));
        }
        // The kubelet jobs read the service account's token, which only exists in a pod.
        foreach (var kubelet in jobs.Children.Cast<YamlMappingNode>().Where(j => j.Children.ContainsKey(new YamlScalarNode("authorization"))).ToList())
        {
            jobs.Children.Remove(kubelet);
        }
        var path = Path.Combine(Path.GetTempPath(), $"cloudapp-prometheus-k8s-{Guid.NewGuid():N}.yml");
        using (var writer = new StreamWriter(path))
        {
            stream.Save(writer, assignAnchors: false);
        }
        return path;
    }

    /// <summary>What Kubernetes discovery would report for a few pods and services (addresses point at the test network).</summary>
    private static void WriteDiscoveredTargets(string directory)
    {
        var computeapi = ScrapeStack.Alias(0);
        Dictionary<string, string> Pod(string name, string phase) => new()
        {
            ["__meta_kubernetes_namespace"] = "cloudapp",
            ["__meta_kubernetes_pod_name"] = name,
            ["__meta_kubernetes_pod_node_name"] = "node-a",
            ["__meta_kubernetes_pod_phase"] = phase,
            ["__meta_kubernetes_pod_controller_kind"] = "ReplicaSet",
            ["__meta_kubernetes_pod_label_app_kubernetes_io_name"] = "computeapi",
            ["__meta_kubernetes_pod_container_port_number"] = "9999",
        };
        var annotated = Pod("computeapi-7d4b9c-x2k8p", "Running");
        annotated["__meta_kubernetes_pod_annotation_prometheus_io_scrape"] = "true";
        annotated["__meta_kubernetes_pod_annotation_prometheus_io_port"] = $"{ScrapeStack.ComputeApiPort}";
        annotated["__meta_kubernetes_pod_annotation_prometheus_io_path"] = "/metrics";
        var agent = Pod("some-agent-q7w2z", "Running");
        agent["__meta_kubernetes_pod_node_name"] = "node-b";
        agent["__meta_kubernetes_pod_controller_kind"] = "DaemonSet";
        agent["__meta_kubernetes_pod_label_app_kubernetes_io_name"] = "some-agent";
        agent["__meta_kubernetes_pod_annotation_prometheus_io_scrape"] = "true";
        agent["__meta_kubernetes_pod_annotation_prometheus_io_port"] = "9100";
        var finished = Pod("finished-job-pod", "Succeeded");
        finished["__meta_kubernetes_pod_annotation_prometheus_io_scrape"] = "true";
        Write(directory, PodsJob,
        [
            ($"{computeapi}:9999", annotated),
            ("node-exporter:1234", agent),
            ($"{computeapi}:9999", Pod("unannotated-pod", "Running")),
            ($"{computeapi}:9999", finished),
        ]);

        // The node: its kubelet's address is the node-exporter container's name on the test network.
        Write(directory, NodeExporterJob,
        [
            ("node-exporter:10250", new Dictionary<string, string>
            {
                ["__meta_kubernetes_node_name"] = "node-b",
                ["__meta_kubernetes_node_address_InternalIP"] = "node-exporter",
            }),
        ]);

        Dictionary<string, string> Endpoint(string service, bool ready, bool annotated)
        {
            var labels = new Dictionary<string, string>
            {
                ["__meta_kubernetes_namespace"] = "cloudapp",
                ["__meta_kubernetes_service_name"] = service,
                ["__meta_kubernetes_endpointslice_endpoint_conditions_ready"] = ready ? "true" : "false",
                ["__meta_kubernetes_pod_name"] = $"{service}-pod",
            };
            if (annotated)
            {
                labels["__meta_kubernetes_service_annotation_prometheus_io_scrape"] = "true";
                labels["__meta_kubernetes_service_annotation_prometheus_io_port"] = $"{ScrapeStack.ComputeApiPort}";
            }
            return labels;
        }
        Write(directory, EndpointsJob,
        [
            ($"{computeapi}:1234", Endpoint("annotated-service", ready: true, annotated: true)),
            ($"{computeapi}:1234", Endpoint("plain-service", ready: true, annotated: false)),
            ($"{computeapi}:1234", Endpoint("not-ready-service", ready: false, annotated: true)),
        ]);
    }

    private static void Write(string directory, string job, (string Address, Dictionary<string, string> Labels)[] targets)
    {
        var groups = targets.Select(t => new { targets = new[] { t.Address }, labels = t.Labels });
        File.WriteAllText(Path.Combine(directory, $"{job}.json"), JsonSerializer.Serialize(groups));
    }

    private sealed record Dropped(string Job, string? Pod, string? Service);

    private static async Task<List<Dropped>> DroppedAsync(ScrapeStack stack, CancellationToken cancellationToken)
    {
        var body = await stack.PrometheusHttp.GetFromJsonAsync<JsonElement>("/api/v1/targets?state=dropped", cancellationToken);
        return [.. body.GetProperty("data").GetProperty("droppedTargets").EnumerateArray().Select(t =>
        {
            var labels = t.GetProperty("discoveredLabels");
            return new Dropped(
                labels.GetProperty("job").GetString()!,
                labels.TryGetProperty("__meta_kubernetes_pod_name", out var pod) ? pod.GetString() : null,
                labels.TryGetProperty("__meta_kubernetes_service_name", out var service) ? service.GetString() : null);
        })];
    }
}
