using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
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
        Assert.Equal(Path.Combine(Repository.PrometheusConfig, "prometheus.yml"), mounts["/etc/prometheus/prometheus.yml"].Source);
        Assert.Equal(Path.Combine(Repository.PrometheusConfig, "rules"), mounts["/etc/prometheus/rules"].Source);
        Assert.True(mounts.ContainsKey(PrometheusResource.TargetsDirectory));
        Assert.All(mounts.Values, m => Assert.True(m.IsReadOnly, $"{m.Target} is read-only"));
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
