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
    public async Task ProductionKeepsPrometheusAndAlertmanagerDataOnVolumesAndRunsGrafanaAdmin()
    {
        var objects = await Manifests.BuiltAsync("overlays/production");
        var prometheus = objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "prometheus");
        var pod = prometheus.Spec.Template.Spec;

        var data = pod.Containers[0].VolumeMounts.Single(m => m.MountPath == Repository.Images.Records.Prometheus.Path("data"));
        var volume = pod.Volumes.Single(v => v.Name == data.Name);
        Assert.Null(volume.EmptyDir);
        var claim = objects.OfType<V1PersistentVolumeClaim>().Single(c => c.Metadata.Name == volume.PersistentVolumeClaim.ClaimName);
        Assert.Equal(prometheus.Metadata.NamespaceProperty, claim.Metadata.NamespaceProperty);
        Assert.Equal("Recreate", prometheus.Spec.Strategy.Type);
        // Retention set by name (the base's RETENTION_TIME and RETENTION_SIZE), never by an argument's position.
        Assert.Equal("--storage.tsdb.retention.time=$(RETENTION_TIME)", Assert.Single(pod.Containers[0].Args, a => a.StartsWith("--storage.tsdb.retention.time=", StringComparison.Ordinal)));
        Assert.Equal("--storage.tsdb.retention.size=$(RETENTION_SIZE)", Assert.Single(pod.Containers[0].Args, a => a.StartsWith("--storage.tsdb.retention.size=", StringComparison.Ordinal)));
        Assert.Equal("15d", Assert.Single(pod.Containers[0].Env, e => e.Name == "RETENTION_TIME").Value);
        Assert.Equal("16GB", Assert.Single(pod.Containers[0].Env, e => e.Name == "RETENTION_SIZE").Value);
        Assert.DoesNotContain("/args", File.ReadAllText(Path.Combine(Manifests.Directory, "overlays", "production", "kustomization.yaml")), StringComparison.Ordinal);

        // Silences and the notification log survive a new pod, not only a container restart.
        var alertmanager = objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "alertmanager");
        var storage = alertmanager.Spec.Template.Spec.Containers[0].Args.Single(a => a.StartsWith("--storage.path=", StringComparison.Ordinal))["--storage.path=".Length..];
        var silences = alertmanager.Spec.Template.Spec.Volumes.Single(v => v.Name == alertmanager.Spec.Template.Spec.Containers[0].VolumeMounts.Single(m => m.MountPath == storage).Name);
        Assert.Contains(objects.OfType<V1PersistentVolumeClaim>(), c => c.Metadata.Name == silences.PersistentVolumeClaim?.ClaimName);
        Assert.Equal("Recreate", alertmanager.Spec.Strategy.Type);

        // The node agents are per cluster and applied apart from it: production holds the install's objects only.
        Assert.Empty(objects.OfType<V1DaemonSet>());
        Assert.Equal(["cloudapp"], objects.OfType<V1Namespace>().Select(n => n.Metadata.Name));
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

        // Alertmanager and kube-state-metrics hear only Prometheus; Prometheus, which has no authentication, only
        // Grafana; Grafana may call only Prometheus.
        foreach (var (server, client) in new[] { ("alertmanager", "prometheus"), ("kube-state-metrics", "prometheus"), ("prometheus", "grafana") })
        {
            var policy = policies.Single(p => Selects(p.Spec.PodSelector, pods[server].Metadata.Labels));
            var from = Assert.Single(Assert.Single(policy.Spec.Ingress).FromProperty);
            Assert.True(from.NamespaceSelector is null && Selects(from.PodSelector, pods[client].Metadata.Labels), $"{server} admits {client} only");
        }
        var grafana = policies.Single(p => Selects(p.Spec.PodSelector, pods["grafana"].Metadata.Labels));
        var to = Assert.Single(Assert.Single(grafana.Spec.Egress).To);
        Assert.True(Selects(to.PodSelector, pods["prometheus"].Metadata.Labels));

        // Every pod may resolve names on port 53 at any address: NodeLocal DNSCache answers on a link-local address
        // of the node (no pod to select) and managed clusters may answer from outside the cluster.
        var dns = policies.Single(p => p.Spec.Egress?.Any(e => e.Ports?.Any(port => port.Port.Value == "53") == true) == true);
        Assert.Empty(dns.Spec.PodSelector.MatchLabels ?? new Dictionary<string, string>());
        Assert.All(dns.Spec.Egress, rule => Assert.Null(rule.To));

        // No NodePort: Prometheus' UI is reached with kubectl port-forward.
        var service = objects.OfType<V1Service>().Single(s => s.Metadata.Name == "prometheus");
        Assert.Equal("ClusterIP", service.Spec.Type);
        Assert.All(service.Spec.Ports, p => Assert.Null(p.NodePort));
    }

    [Theory]
    [InlineData("../../base", "base")]
    [InlineData("../production", "overlays/production")]
    public async Task ASecondInstallInItsOwnNamespaceSharesNoObjectWithTheFirst(string resource, string first)
    {
        // The committed example overlay (namespace team-a), on the base as committed or on production.
        var example = File.ReadAllText(Path.Combine(Manifests.Directory, "overlays", "namespace-example", "kustomization.yaml"));
        Assert.Contains("  - ../../base\n", example);
        var result = await Manifests.KustomizeAsync(root =>
        {
            Directory.CreateDirectory(Path.Combine(root, "k8s", "overlays", "second"));
            File.WriteAllText(Path.Combine(root, "k8s", "overlays", "second", "kustomization.yaml"), example.Replace("  - ../../base\n", $"  - {resource}\n", StringComparison.Ordinal));
            File.WriteAllText(Path.Combine(root, "kustomization.yaml"), "resources: [k8s/overlays/second]\n");
        });
        Assert.True(result.ExitCode == 0, result.ToString());
        var second = k8s.KubernetesYaml.LoadAllFromString(result.Output, typeMap: null, strict: true).OfType<IMetadata<V1ObjectMeta>>().ToList();
        var installed = (await Manifests.BuiltAsync(first)).OfType<IMetadata<V1ObjectMeta>>().ToList();

        Assert.Equal("team-a", Assert.Single(second.OfType<V1Namespace>()).Metadata.Name);
        var clusterScoped = new[] { typeof(V1Namespace), typeof(V1ClusterRole), typeof(V1ClusterRoleBinding) };
        Assert.All(second.Where(o => !clusterScoped.Contains(o.GetType())), o => Assert.Equal("team-a", o.Metadata.NamespaceProperty));

        // Cluster-scoped names are the install's own: applying the second never rewrites the first one's objects.
        static IEnumerable<string> Keys(IEnumerable<IMetadata<V1ObjectMeta>> objects) =>
            objects.Select(o => $"{o.GetType().Name}/{o.Metadata.NamespaceProperty}/{o.Metadata.Name}");
        Assert.Empty(Keys(second).Intersect(Keys(installed)));
        var binding = Assert.Single(second.OfType<V1ClusterRoleBinding>());
        var role = Assert.Single(second.OfType<V1ClusterRole>());
        Assert.Equal(("team-a-prometheus", role.Metadata.Name), (binding.Metadata.Name, binding.RoleRef.Name));
        var subject = Assert.Single(binding.Subjects);
        Assert.Equal(("prometheus", "team-a"), (subject.Name, subject.NamespaceProperty));
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
