using YamlDotNet.RepresentationModel;
using k8s.Models;

namespace CloudApp.Deploy.Tests;

/// <summary>The overlays a user grows the base with, built from the committed folders as they are.</summary>
public sealed class OverlayTests
{
    [Fact]
    public async Task DevRunsOneSmallComputeApi()
    {
        var objects = await Manifests.BuiltAsync("overlays/dev");

        var computeapi = objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "computeapi");
        Assert.Equal(1, computeapi.Spec.Replicas);
        Assert.Equal("100m", computeapi.Spec.Template.Spec.Containers[0].Resources.Requests["cpu"].ToString());
        Assert.DoesNotContain(objects, o => o is V1DaemonSet);
    }

    [Fact]
    public async Task ProductionScalesProtectsAndSpreadsComputeApi()
    {
        var objects = await Manifests.BuiltAsync("overlays/production");
        var computeapi = objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "computeapi");
        var podLabels = computeapi.Spec.Template.Metadata.Labels;

        // The autoscaler owns the count; the Deployment leaves it alone.
        Assert.Null(computeapi.Spec.Replicas);
        var hpa = Assert.Single(objects.OfType<V2HorizontalPodAutoscaler>());
        Assert.Equal(("apps/v1", "Deployment", "computeapi"), (hpa.Spec.ScaleTargetRef.ApiVersion, hpa.Spec.ScaleTargetRef.Kind, hpa.Spec.ScaleTargetRef.Name));
        Assert.Equal(hpa.Metadata.NamespaceProperty, computeapi.Metadata.NamespaceProperty);
        var cpu = Assert.Single(hpa.Spec.Metrics);
        Assert.Equal(("Resource", "cpu", "Utilization"), (cpu.Type, cpu.Resource.Name, cpu.Resource.Target.Type));
        Assert.True(hpa.Spec.MinReplicas >= 2 && hpa.Spec.MaxReplicas > hpa.Spec.MinReplicas);
        // Utilization is a share of the request: a pod without a CPU request cannot be scaled on it.
        Assert.True(computeapi.Spec.Template.Spec.Containers[0].Resources.Requests.ContainsKey("cpu"));

        var pdb = Assert.Single(objects.OfType<V1PodDisruptionBudget>());
        Assert.True(Selects(pdb.Spec.Selector, podLabels), "the PodDisruptionBudget selects the ComputeApi pods");
        Assert.True(pdb.Spec.MaxUnavailable is not null && hpa.Spec.MinReplicas > 1);

        var spread = Assert.Single(computeapi.Spec.Template.Spec.TopologySpreadConstraints);
        Assert.Equal("kubernetes.io/hostname", spread.TopologyKey);
        Assert.True(Selects(spread.LabelSelector, podLabels));
    }

    [Fact]
    public async Task ProductionKeepsPrometheusDataOnAVolumeBoundedBySizeAndRunsTheNodeAgentAndGrafanaAdmin()
    {
        var objects = await Manifests.BuiltAsync("overlays/production");
        var prometheus = objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "prometheus");
        var pod = prometheus.Spec.Template.Spec;

        var data = pod.Containers[0].VolumeMounts.Single(m => m.MountPath == "/prometheus");
        var volume = pod.Volumes.Single(v => v.Name == data.Name);
        Assert.Null(volume.EmptyDir);
        var claim = objects.OfType<V1PersistentVolumeClaim>().Single(c => c.Metadata.Name == volume.PersistentVolumeClaim.ClaimName);
        Assert.Equal(prometheus.Metadata.NamespaceProperty, claim.Metadata.NamespaceProperty);
        Assert.Equal("Recreate", prometheus.Spec.Strategy.Type);
        Assert.Contains(pod.Containers[0].Args, a => a.StartsWith("--storage.tsdb.retention.size=", StringComparison.Ordinal));
        Assert.Single(pod.Containers[0].Args, a => a.StartsWith("--storage.tsdb.retention.time=", StringComparison.Ordinal));

        Assert.Single(objects.OfType<V1DaemonSet>(), d => d.Metadata.Name == "node-exporter");
        var grafana = objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "grafana");
        Assert.Contains(grafana.Spec.Template.Spec.Containers[0].Env, e => e.Name == "GF_SECURITY_ADMIN_PASSWORD__FILE");
    }

    [Fact]
    public async Task ProductionNetworkPoliciesAdmitOnlyWhatMustTalk()
    {
        var objects = await Manifests.BuiltAsync("overlays/production");
        var policies = objects.OfType<V1NetworkPolicy>().ToList();
        var pods = Manifests.Workloads(objects).Where(w => w.Workload.Metadata.NamespaceProperty == "cloudapp")
            .ToDictionary(w => w.Workload.Metadata.Name, w => w.Pod);

        // Everything in the namespace is denied first, both ways.
        var deny = policies.Single(p => p.Spec.PodSelector.MatchLabels is null && p.Spec.Ingress is null && p.Spec.Egress is null);
        Assert.Equal(["Ingress", "Egress"], deny.Spec.PolicyTypes);

        // Each policy opens ports the selected pods really have.
        foreach (var policy in policies.Where(p => p.Spec.PodSelector.MatchLabels is not null))
        {
            var selected = pods.Where(p => Selects(policy.Spec.PodSelector, p.Value.Metadata.Labels)).ToList();
            var only = Assert.Single(selected);
            var ports = only.Value.Spec.Containers.SelectMany(c => c.Ports).Select(p => p.Name).ToHashSet();
            foreach (var port in (policy.Spec.Ingress ?? []).SelectMany(r => r.Ports ?? []))
            {
                Assert.Contains(port.Port.Value, ports);
            }
        }

        // Alertmanager hears only Prometheus; Grafana may call only Prometheus; every pod may ask the cluster's DNS.
        var alertmanager = policies.Single(p => Selects(p.Spec.PodSelector, pods["alertmanager"].Metadata.Labels));
        var from = Assert.Single(Assert.Single(alertmanager.Spec.Ingress).FromProperty);
        Assert.True(Selects(from.PodSelector, pods["prometheus"].Metadata.Labels));
        var grafana = policies.Single(p => Selects(p.Spec.PodSelector, pods["grafana"].Metadata.Labels));
        var to = Assert.Single(Assert.Single(grafana.Spec.Egress).To);
        Assert.True(Selects(to.PodSelector, pods["prometheus"].Metadata.Labels));
        var dns = policies.Single(p => p.Spec.Egress?.Any(e => e.Ports?.Any(port => port.Port.Value == "53") == true) == true);
        Assert.Empty(dns.Spec.PodSelector.MatchLabels ?? new Dictionary<string, string>());
    }

    [Fact]
    public async Task AnOverlayMayMoveTheApplicationToAnotherNamespace()
    {
        var result = await Manifests.KustomizeAsync(root =>
            File.WriteAllText(Path.Combine(root, "kustomization.yaml"), "namespace: team-a\nresources: [k8s/base]\n"));
        Assert.True(result.ExitCode == 0, result.ToString());
        var objects = k8s.KubernetesYaml.LoadAllFromString(result.Output, typeMap: null, strict: true);

        Assert.Equal("team-a", Assert.Single(objects.OfType<V1Namespace>()).Metadata.Name);
        Assert.All(objects.OfType<IMetadata<V1ObjectMeta>>().Where(o => o is not (V1Namespace or V1ClusterRole or V1ClusterRoleBinding)),
            o => Assert.Equal("team-a", o.Metadata.NamespaceProperty));
        // Prometheus' service account, bound cluster-wide, moved with it.
        var binding = Assert.Single(objects.OfType<V1ClusterRoleBinding>());
        Assert.Equal("team-a", Assert.Single(binding.Subjects).NamespaceProperty);
    }

    [Fact]
    public async Task KedaScalesComputeApiOnItsJobsInFlightInsteadOfCpu()
    {
        var result = await Manifests.KustomizeAsync(root =>
            File.WriteAllText(Path.Combine(root, "kustomization.yaml"), "resources: [k8s/overlays/keda]\n"));
        Assert.True(result.ExitCode == 0, result.ToString());
        // ScaledObject is KEDA's own kind, unknown to the Kubernetes client models: read the documents as YAML.
        var stream = new YamlStream();
        stream.Load(new StringReader(result.Output));
        var documents = stream.Documents.Select(d => (YamlMappingNode)d.RootNode).ToList();
        string Kind(YamlMappingNode d) => d.Children[new YamlScalarNode("kind")].ToString();

        Assert.DoesNotContain(documents, d => Kind(d) == "HorizontalPodAutoscaler"); // KEDA creates its own
        var spec = (YamlMappingNode)Assert.Single(documents, d => Kind(d) == "ScaledObject").Children[new YamlScalarNode("spec")];
        Assert.Equal("computeapi", ((YamlMappingNode)spec["scaleTargetRef"])["name"].ToString());

        var trigger = (YamlMappingNode)Assert.Single((YamlSequenceNode)spec["triggers"]);
        Assert.Equal("prometheus", trigger["type"].ToString());
        var metadata = (YamlMappingNode)trigger["metadata"];
        // It asks the Prometheus Service of the overlay, on its port, for the ComputeApi's own saturation gauges.
        var server = new Uri(metadata["serverAddress"].ToString());
        var prometheus = k8s.KubernetesYaml.LoadAllFromString(
            string.Join("\n---\n", result.Output.Split("\n---\n").Where(d => d.Contains("kind: Service\n", StringComparison.Ordinal))),
            typeMap: null, strict: true).OfType<V1Service>().Single(s => s.Metadata.Name == "prometheus");
        Assert.Equal($"{prometheus.Metadata.Name}.{prometheus.Metadata.NamespaceProperty}.svc", server.Host);
        Assert.Contains(prometheus.Spec.Ports, p => p.Port == server.Port);
        var query = metadata["query"].ToString();
        Assert.Contains(ComputeApi.ComputeMetrics.JobsActiveName.Replace('.', '_'), query);
        Assert.Contains(ComputeApi.ComputeMetrics.JobsWaitingName.Replace('.', '_'), query);
    }

    private static bool Selects(V1LabelSelector selector, IDictionary<string, string> labels) =>
        selector.MatchLabels is { Count: > 0 } match && match.All(l => labels.TryGetValue(l.Key, out var value) && value == l.Value);
}
