using k8s.Models;

namespace CloudApp.Deploy.Tests;

/// <summary>The monitoring part of the committed base: what Prometheus may read, and where its alerts go.</summary>
public sealed class MonitoringManifestTests
{
    [Fact]
    public async Task PrometheusMayOnlyReadWhatDiscoveryNeeds()
    {
        var objects = await Manifests.BuiltAsync();

        var role = Assert.Single(objects.OfType<V1ClusterRole>());
        var granted = role.Rules
            .SelectMany(r => (r.Resources ?? []).SelectMany(res => (r.ApiGroups ?? [""]).SelectMany(g => r.Verbs.Select(v => $"{g}/{res}:{v}"))))
            .Concat(role.Rules.SelectMany(r => (r.NonResourceURLs ?? []).SelectMany(u => r.Verbs.Select(v => $"{u}:{v}"))))
            .ToHashSet();
        string[] read = ["get", "list", "watch"];
        var allowed = new[] { "/nodes", "/nodes/metrics", "/services", "/endpoints", "/pods", "discovery.k8s.io/endpointslices" }
            .SelectMany(r => read.Select(v => $"{r}:{v}"))
            .Append("/metrics:get")
            .ToHashSet();
        Assert.Equal(allowed.Order(), granted.Order());

        var binding = Assert.Single(objects.OfType<V1ClusterRoleBinding>());
        Assert.Equal(role.Metadata.Name, binding.RoleRef.Name);
        var subject = Assert.Single(binding.Subjects);
        var prometheus = objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "prometheus");
        Assert.Equal(prometheus.Spec.Template.Spec.ServiceAccountName, subject.Name);
        Assert.Equal(prometheus.Metadata.NamespaceProperty, subject.NamespaceProperty);
        // kube-state-metrics lists and watches the pods of its own namespace, nothing else; every other pod runs
        // without a Kubernetes API token.
        var ksm = objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "kube-state-metrics");
        var ksmRole = Assert.Single(objects.OfType<V1Role>());
        var rule = Assert.Single(ksmRole.Rules);
        Assert.Equal([""], rule.ApiGroups);
        Assert.Equal(["pods"], rule.Resources);
        Assert.Equal(["list", "watch"], rule.Verbs);
        Assert.Equal(ksm.Metadata.NamespaceProperty, ksmRole.Metadata.NamespaceProperty);
        var ksmBinding = Assert.Single(objects.OfType<V1RoleBinding>());
        Assert.Equal((ksmRole.Metadata.Name, ksm.Spec.Template.Spec.ServiceAccountName), (ksmBinding.RoleRef.Name, Assert.Single(ksmBinding.Subjects).Name));
        Assert.Contains("--namespaces=$(POD_NAMESPACE)", ksm.Spec.Template.Spec.Containers[0].Args);
        Assert.All(Manifests.Workloads(objects).Where(w => w.Workload.Metadata.Name is not ("prometheus" or "kube-state-metrics")),
            w => Assert.False(w.Pod.Spec.AutomountServiceAccountToken));
    }

    [Fact]
    public async Task PrometheusMayReplayItsWriteAheadLogBeforeLivenessCountsAndStopCleanly()
    {
        var objects = await Manifests.BuiltAsync();
        var pod = objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "prometheus").Spec.Template.Spec;
        var startup = pod.Containers[0].StartupProbe;

        // The budget derived from bench/wal-replay.sh (see PrometheusResourceBuilderExtensions): 15 minutes, as the
        // Prometheus Operator allows; until the startup probe passes, the liveness probe does not run.
        Assert.True(startup.PeriodSeconds * startup.FailureThreshold >= 900, $"startup budget {startup.PeriodSeconds * startup.FailureThreshold} s");
        Assert.Equal("/-/ready", startup.HttpGet.Path);
        Assert.True(pod.TerminationGracePeriodSeconds >= 600);

        // Retention is a setting an overlay replaces by name: the argument reads it from the environment.
        Assert.Contains("--storage.tsdb.retention.time=$(RETENTION_TIME)", pod.Containers[0].Args);
        Assert.Matches(@"^\d+[smhdwy]$", pod.Containers[0].Env.Single(e => e.Name == "RETENTION_TIME").Value);
    }

    [Fact]
    public async Task PrometheusSendsAlertsToTheAlertmanagerServiceOfItsOwnNamespace()
    {
        var objects = await Manifests.BuiltAsync();

        // kubernetes/prometheus.yml names "alertmanager:<its port>": the short name resolves in the namespace Prometheus runs in.
        var port = Repository.Images.Records.Alertmanager.Port;
        var configuration = File.ReadAllText(Repository.Path("deploy", "prometheus", "kubernetes", "prometheus.yml"));
        Assert.Contains($"targets: [alertmanager:{port}]", configuration);
        var prometheus = objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "prometheus");
        var service = objects.OfType<V1Service>().Single(s => s.Metadata.Name == "alertmanager");
        Assert.Equal(prometheus.Metadata.NamespaceProperty, service.Metadata.NamespaceProperty);
        Assert.Contains(service.Spec.Ports, p => p.Port == port);
        var alertmanager = objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "alertmanager");
        Assert.Equal(service.Spec.Selector, alertmanager.Spec.Selector.MatchLabels);
        Assert.Contains("--cluster.listen-address=", alertmanager.Spec.Template.Spec.Containers[0].Args);
    }
}
