using Aspire.Hosting.ApplicationModel;
using CloudApp.AppHost;
using CloudApp.AppHost.Kubernetes;
using CloudApp.AppHost.Prometheus;
using Microsoft.Extensions.Logging.Abstractions;

namespace CloudApp.Integration.Tests;

public sealed class AppHostPartsTests
{
    [Theory]
    [InlineData("quay.io/prometheus/prometheus:v3.5.3", "quay.io", "prometheus/prometheus", "v3.5.3")]
    [InlineData("cloudapp/prometheus:3.5.3", null, "cloudapp/prometheus", "3.5.3")]
    [InlineData("localhost:5000/grafana:12.2.0", "localhost:5000", "grafana", "12.2.0")]
    [InlineData("mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled", "mcr.microsoft.com", "dotnet/runtime-deps", "10.0-noble-chiseled")]
    public void ParsesImageReferences(string reference, string? registry, string image, string tag)
    {
        var parsed = ImageReference.Parse(reference);

        Assert.Equal((registry, image, tag), (parsed.Registry, parsed.Image, parsed.Tag));
        Assert.Equal(reference, parsed.ToString());
    }

    [Theory]
    [InlineData("prom/prometheus")]
    [InlineData("prom/prometheus:latest")]
    [InlineData("localhost:5000/prometheus")]
    public void RefusesImagesWithoutAPinnedTag(string reference)
    {
        Assert.Throws<FormatException>(() => ImageReference.Parse(reference));
    }

    [Fact]
    public void ListsEachRunningReplicaByItsOwnPortAndKeepsOneThatStopped()
    {
        var writer = new ReplicaTargetsWriter(null!, new ReplicaTargetsOptions(null!, Path.GetTempPath(), "x.json", "host.docker.internal"),
            NullLogger<ReplicaTargetsWriter>.Instance);

        Assert.True(writer.Apply("computeapi-a", Snapshot(KnownResourceStates.Running, "http://0.0.0.0:41001")));
        Assert.True(writer.Apply("computeapi-b", Snapshot(KnownResourceStates.Running, "http://0.0.0.0:41002")));
        Assert.False(writer.Apply("computeapi-b", Snapshot(KnownResourceStates.Running, "http://0.0.0.0:41002")));
        Assert.False(writer.Apply("computeapi-c", Snapshot(KnownResourceStates.Starting, null)));

        Assert.Equal(["host.docker.internal:41001", "host.docker.internal:41002"], writer.Groups.SelectMany(g => g.Targets));
        Assert.Equal(["computeapi-a", "computeapi-b"], writer.Groups.Select(g => g.Labels["replica"]));

        // A replica that exits stays listed, so Prometheus shows it down (and alerts) instead of forgetting it.
        Assert.False(writer.Apply("computeapi-a", Snapshot(KnownResourceStates.Exited, "http://0.0.0.0:41001")));
        Assert.False(writer.Apply("computeapi-a", Snapshot(KnownResourceStates.Finished, null)));
        Assert.Equal(["host.docker.internal:41001", "host.docker.internal:41002"], writer.Groups.SelectMany(g => g.Targets));

        // When it runs again on another port, its entry follows.
        Assert.True(writer.Apply("computeapi-a", Snapshot(KnownResourceStates.Running, "http://0.0.0.0:41003")));
        Assert.Equal(["host.docker.internal:41003", "host.docker.internal:41002"], writer.Groups.SelectMany(g => g.Targets));
    }

    [Fact]
    public void AWorkloadPublishedWithoutRequestsAndLimitsIsRefusedByName()
    {
        var resource = new ContainerResource("unsized");
        resource.Annotations.Add(new EndpointAnnotation(System.Net.Sockets.ProtocolType.Tcp, uriScheme: "http",
            name: KubernetesWorkload.EndpointName, targetPort: 8080));
        var workload = new KubernetesWorkload { RunAsUser = 1000, Probes = new("/", "/", "/") };

        var refused = Assert.Throws<InvalidOperationException>(() => PodTemplates.Create(
            resource, workload, ImageReference.Parse("example.org/unsized:1.0"), [], [], [], []));

        Assert.Contains("'unsized' has no requests and limits", refused.Message, StringComparison.Ordinal);
        Assert.Contains("PublishAsKubernetesWorkload", refused.Message, StringComparison.Ordinal);

        workload.Resources = new("10m", "100m", "16Mi", "64Mi");
        var limits = PodTemplates.Create(resource, workload, ImageReference.Parse("example.org/unsized:1.0"), [], [], [], [])
            .Spec.Containers[0].Resources.Limits;
        Assert.Equal(["100m", "64Mi"], new[] { limits["cpu"].ToString(), limits["memory"].ToString() });
    }

    private static CustomResourceSnapshot Snapshot(string state, string? urls) => new()
    {
        ResourceType = "Project",
        Properties = [],
        State = new ResourceStateSnapshot(state, null),
        EnvironmentVariables = urls is null ? [] : [new EnvironmentVariableSnapshot("ASPNETCORE_URLS", urls, IsFromSpec: false)],
    };
}
