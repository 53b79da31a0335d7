#pragma warning disable ASPIREPIPELINES003 // Push options are experimental in Aspire 13.6.

using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using CloudApp.AppHost.Alertmanager;
using CloudApp.AppHost.Grafana;
using CloudApp.AppHost.Prometheus;
using CloudApp.Integration.Tests.Support;

namespace CloudApp.Integration.Tests;

/// <summary>What the AppHost declares, read from its model without starting anything.</summary>
public sealed class AppModelTests
{
    [Fact]
    public async Task RunsTwoComputeApiReplicasWithAHealthCheckByDefault()
    {
        var resources = await BuildModelAsync("--Grafana:Enabled=false");

        var computeapi = Assert.IsType<ProjectResource>(resources.Single(r => r.Name == "computeapi"));
        Assert.Equal(2, computeapi.GetReplicaCount());
        Assert.True(computeapi.TryGetAnnotationsOfType<HealthCheckAnnotation>(out _));
    }

    [Fact]
    public async Task MountsPrometheusConfigurationFromDeployReadOnly()
    {
        var resources = await BuildModelAsync("--Grafana:Enabled=false", "--Images:Prometheus=registry.example:5000/mirror/prometheus:v9.9.9");

        var prometheus = Assert.IsType<PrometheusResource>(resources.Single(r => r.Name == "prometheus"));
        var image = prometheus.Annotations.OfType<ContainerImageAnnotation>().Single();
        Assert.Equal(("registry.example:5000", "mirror/prometheus", "v9.9.9"), (image.Registry, image.Image, image.Tag));

        var mounts = prometheus.Annotations.OfType<ContainerMountAnnotation>().ToDictionary(m => m.Target);
        Assert.Equal(Path.Combine(Repository.PrometheusConfig, "prometheus.yml"), mounts[PrometheusResource.ConfigFile].Source);
        Assert.Equal(Path.Combine(Repository.PrometheusConfig, "rules"), mounts[PrometheusResource.RulesDirectory].Source);
        Assert.True(mounts.ContainsKey(PrometheusResource.TargetsDirectory));
        Assert.All(mounts.Values.Where(m => m.Type == ContainerMountType.BindMount), m => Assert.True(m.IsReadOnly, $"{m.Target} is read-only"));
        // The TSDB on a named volume of its own, which outlives the container.
        var data = mounts[PrometheusResource.DataDirectory];
        Assert.Equal(ContainerMountType.Volume, data.Type);
        Assert.False(data.IsReadOnly);
        Assert.EndsWith("-prometheus-data", data.Source);
        Assert.True(prometheus.TryGetAnnotationsOfType<WaitAnnotation>(out var waits));
        Assert.Contains(waits, w => w.Resource.Name == "computeapi");
    }

    [Fact]
    public async Task ProvisionsGrafanaWithASecretPasswordAnonymousViewersAndThePrometheusDatasource()
    {
        var resources = await BuildModelAsync("--Grafana:Enabled=true");

        var grafana = Assert.IsType<GrafanaResource>(resources.Single(r => r.Name == "grafana"));
        var environment = await EnvironmentOf(grafana);

        var password = Assert.IsType<ParameterResource>(environment["GF_SECURITY_ADMIN_PASSWORD"]);
        Assert.True(password.Secret);
        Assert.Equal("true", environment["GF_AUTH_ANONYMOUS_ENABLED"]);
        Assert.Equal("Viewer", environment["GF_AUTH_ANONYMOUS_ORG_ROLE"]);
        var datasource = Assert.IsType<EndpointReference>(environment["PROMETHEUS_URL"]);
        Assert.Equal("prometheus", datasource.Resource.Name);

        var mounts = grafana.Annotations.OfType<ContainerMountAnnotation>().ToDictionary(m => m.Target);
        Assert.Equal(Path.Combine(Repository.Root, "deploy", "grafana", "provisioning"), mounts["/etc/grafana/provisioning"].Source);
        Assert.Equal(Path.Combine(Repository.Root, "deploy", "grafana", "dashboards"), mounts["/var/lib/grafana/dashboards"].Source);
        Assert.All(mounts.Values, m => Assert.True(m.IsReadOnly));
        Assert.True(grafana.TryGetAnnotationsOfType<WaitAnnotation>(out var waits));
        Assert.Contains(waits, w => w.Resource.Name == "prometheus");
    }

    [Fact]
    public async Task LeavesGrafanaOutWhenItsImageCannotBeHad()
    {
        var resources = await BuildModelAsync("--Images:Grafana=cloudapp/no-such-grafana:0.0.0");

        Assert.DoesNotContain(resources, r => r.Name == "grafana");
        Assert.Contains(resources, r => r.Name == "prometheus");
    }

    [Fact]
    public async Task RunsAlertmanagerAndNodeExporterForPrometheusWithReadOnlyMounts()
    {
        var resources = await BuildModelAsync("--Grafana:Enabled=false");

        var alertmanager = resources.Single(r => r.Name == "alertmanager");
        var config = Assert.Single(alertmanager.Annotations.OfType<ContainerMountAnnotation>(), m => m.Type == ContainerMountType.BindMount);
        Assert.Equal((Repository.AlertmanagerConfig, AlertmanagerResource.ConfigFile, true), (config.Source, config.Target, config.IsReadOnly));
        // Silences and the notification log on a named volume of their own.
        var storage = Assert.Single(alertmanager.Annotations.OfType<ContainerMountAnnotation>(), m => m.Type == ContainerMountType.Volume);
        Assert.Equal(AlertmanagerResource.StorageDirectory, storage.Target);
        Assert.EndsWith("-alertmanager-data", storage.Source);
        Assert.Equal(Repository.Images.Alertmanager.Image, alertmanager.Annotations.OfType<ContainerImageAnnotation>().Single().Image);

        var nodeExporter = resources.Single(r => r.Name == "node-exporter");
        var hostMounts = nodeExporter.Annotations.OfType<ContainerMountAnnotation>().ToDictionary(m => m.Target, m => (m.Source, m.IsReadOnly));
        Assert.Equal(("/proc", true), hostMounts["/host/proc"]);
        Assert.Equal(("/sys", true), hostMounts["/host/sys"]);
        Assert.Equal(("/", true), hostMounts["/host/root"]);

        var prometheus = resources.Single(r => r.Name == "prometheus");
        Assert.True(prometheus.TryGetAnnotationsOfType<WaitAnnotation>(out var waits));
        Assert.Contains(waits, w => w.Resource == alertmanager);
        Assert.Contains(waits, w => w.Resource == nodeExporter);
    }

    [Fact]
    public async Task PushesTheComputeApiImageBelowTheConfiguredRegistryAtThePinnedTag()
    {
        var resources = await BuildModelAsync("--Grafana:Enabled=false", "--ComputeApi:Registry=registry.example.com");

        var computeapi = resources.Single(r => r.Name == "computeapi");
        var options = new ContainerImagePushOptions { RemoteImageName = computeapi.Name, RemoteImageTag = "latest" };
        foreach (var annotation in computeapi.Annotations.OfType<ContainerImagePushOptionsCallbackAnnotation>())
        {
            await annotation.Callback(new ContainerImagePushOptionsCallbackContext { Resource = computeapi, Options = options, CancellationToken = default });
        }
        var registry = Assert.Single(computeapi.Annotations.OfType<ContainerRegistryReferenceAnnotation>()).Registry;
        var pinned = Repository.Images.ComputeApi;
        Assert.NotEqual("latest", pinned.Tag);
        Assert.Equal($"registry.example.com/{pinned.Image}:{pinned.Tag}", await options.GetFullRemoteImageNameAsync(registry));

        // The Kubernetes manifests name the same image.
        var workload = computeapi.Annotations.OfType<CloudApp.AppHost.Kubernetes.KubernetesWorkloadAnnotation>().Single().Workload;
        Assert.Equal($"registry.example.com/{pinned.Image}:{pinned.Tag}", workload.Image?.ToString());
    }

    private static async Task<IReadOnlyList<IResource>> BuildModelAsync(params string[] args)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(args, timeout.Token);
        return [.. appHost.Resources];
    }

    private static async Task<Dictionary<string, object>> EnvironmentOf(IResource resource)
    {
        var context = new EnvironmentCallbackContext(new DistributedApplicationExecutionContext(DistributedApplicationOperation.Run), resource);
        foreach (var callback in resource.Annotations.OfType<EnvironmentCallbackAnnotation>())
        {
            await callback.Callback(context);
        }
        return context.EnvironmentVariables.ToDictionary(kv => kv.Key, kv => kv.Value);
    }
}
