using CloudApp.AppHost.Prometheus;
using Microsoft.Extensions.DependencyInjection;

namespace Aspire.Hosting;

public static class PrometheusResourceBuilderExtensions
{
    /// <summary>
    /// Adds a Prometheus container using <paramref name="configDirectory"/> (bind-mounted read-only): its
    /// <c>prometheus.yml</c> and its <c>rules/</c> folder, the same files the Kubernetes manifests carry.
    /// </summary>
    public static IResourceBuilder<PrometheusResource> AddPrometheus(
        this IDistributedApplicationBuilder builder, string name, CloudApp.AppHost.ImageReference image, string configDirectory)
    {
        var resource = new PrometheusResource(name);
        var configFile = Path.Combine(configDirectory, "prometheus.yml");
        return builder.AddResource(resource)
            .WithImage(image.Image, image.Tag)
            .WithImageRegistry(image.Registry)
            .WithHttpEndpoint(targetPort: PrometheusResource.Port, name: PrometheusResource.HttpEndpointName)
            .WithBindMount(configFile, "/etc/prometheus/prometheus.yml", isReadOnly: true)
            .WithBindMount(Path.Combine(configDirectory, "rules"), "/etc/prometheus/rules", isReadOnly: true)
            .WithArgs("--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus",
                "--storage.tsdb.retention.time=2d", "--web.enable-lifecycle")
            .WithHttpHealthCheck("/-/ready", endpointName: PrometheusResource.HttpEndpointName)
            .WithUrlForEndpoint(PrometheusResource.HttpEndpointName, url => url.DisplayText = "Prometheus");
    }

    /// <summary>
    /// Scrapes every replica of <paramref name="project"/> on its own: the AppHost writes the replicas' addresses
    /// as a file_sd list into a folder mounted at <see cref="PrometheusResource.TargetsDirectory"/>, and makes the
    /// replicas listen on every interface so the container can reach them through the host's gateway address.
    /// </summary>
    public static IResourceBuilder<PrometheusResource> WithReplicaTargets(
        this IResourceBuilder<PrometheusResource> prometheus, IResourceBuilder<ProjectResource> project, string hostName = "host.docker.internal")
    {
        var builder = prometheus.ApplicationBuilder;
        if (!builder.ExecutionContext.IsRunMode)
        {
            // Published deployments discover targets through their platform (kubernetes_sd in Kubernetes).
            return prometheus;
        }

        var directory = Path.Combine(Path.GetTempPath(), "cloudapp-apphost", $"{prometheus.Resource.Name}-targets-{Environment.ProcessId}");
        Directory.CreateDirectory(directory);

        project.WithEndpoint("http", endpoint => endpoint.TargetHost = "0.0.0.0");

        builder.Services.AddSingleton(new ReplicaTargetsOptions(project.Resource, directory, $"{project.Resource.Name}.json", hostName));
        builder.Services.AddHostedService<ReplicaTargetsWriter>();

        return prometheus
            .WithBindMount(directory, PrometheusResource.TargetsDirectory, isReadOnly: true)
            // On Linux engines host.docker.internal is not defined by default; host-gateway maps it to the host.
            .WithContainerRuntimeArgs("--add-host", $"{hostName}:host-gateway");
    }
}
