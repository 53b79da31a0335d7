using CloudApp.AppHost.Kubernetes;
using CloudApp.AppHost.Prometheus;
using Microsoft.Extensions.DependencyInjection;

namespace Aspire.Hosting;

public static class PrometheusResourceBuilderExtensions
{
    /// <summary>
    /// Adds a Prometheus container using <paramref name="configDirectory"/> (bind-mounted read-only): its
    /// <c>rules/</c> folder, and <c>prometheus.yml</c> for local runs or <c>kubernetes/prometheus.yml</c>
    /// (Kubernetes service discovery) when publishing. Both load the same rules. <paramref name="port"/> publishes the
    /// UI on that host port (none: a port the engine picks), which alert links then lead to.
    /// </summary>
    public static IResourceBuilder<PrometheusResource> AddPrometheus(
        this IDistributedApplicationBuilder builder, string name, CloudApp.AppHost.ImageReference image, string configDirectory, int? port = null)
    {
        var resource = new PrometheusResource(name);
        var configFile = builder.ExecutionContext.IsPublishMode
            ? Path.Combine(configDirectory, "kubernetes", "prometheus.yml")
            : Path.Combine(configDirectory, "prometheus.yml");
        var prometheus = builder.AddResource(resource)
            .WithImage(image.Image, image.Tag)
            .WithImageRegistry(image.Registry)
            .WithHttpEndpoint(port: port, targetPort: PrometheusResource.Port, name: PrometheusResource.HttpEndpointName)
            .WithBindMount(configFile, PrometheusResource.ConfigFile, isReadOnly: true)
            .WithBindMount(Path.Combine(configDirectory, "rules"), PrometheusResource.RulesDirectory, isReadOnly: true)
            .WithArgs([.. PrometheusResource.Arguments])
            .WithHttpHealthCheck("/-/ready", endpointName: PrometheusResource.HttpEndpointName)
            .WithUrlForEndpoint(PrometheusResource.HttpEndpointName, url => url.DisplayText = "Prometheus")
            .WithKubernetes(k =>
            {
                k.Component = "monitoring";
                k.ProvidedByOperatorStack = true;
                k.RunAsUser = PrometheusResource.Record.User;
                k.WritableDirectories[PrometheusResource.DataDirectory] = "4Gi";
                // Settings an overlay sets by name: production keeps 15 days, below its volume's size.
                k.ArgumentSettings["--storage.tsdb.retention.time"] = "RETENTION_TIME";
                k.ArgumentSettings["--storage.tsdb.retention.size"] = "RETENTION_SIZE";
                // After a restart on kept data (the production volume; the base's emptyDir after a container restart)
                // Prometheus replays its write-ahead log before it is ready. bench/wal-replay.sh measured about 4.5 M
                // samples/s on two cores; the WAL holds up to 3 hours, at 15 s that is 720 samples per series, and
                // the 2 GiB limit it is published with holds in the order of a million series: some 160 s, twice that on the one CPU of
                // the limit, more on slow volumes. 15 minutes (as the Prometheus Operator allows) leaves room, and a
                // shutdown gets 10 minutes to write its final WAL checkpoint.
                k.Probes = new(Liveness: "/-/healthy", Readiness: "/-/ready", Startup: "/-/ready")
                {
                    StartupTiming = new(PeriodSeconds: 5, FailureThreshold: 180),
                };
                k.TerminationGracePeriodSeconds = 600;
                k.Service = new(Port: PrometheusResource.Port);
                k.ApiAccess = KubernetesApiAccess.Discovery;
                k.ExternalUrlFlag = "--web.external-url";
            });
        if (!builder.ExecutionContext.IsRunMode) return prometheus;
        // Links in alerts (their generator URL) lead to the UI on the host; the TSDB outlives the container.
        if (port is { } hostPort) prometheus.WithArgs($"--web.external-url=http://localhost:{hostPort}/");
        return prometheus.WithVolume(VolumeNameGenerator.Generate(prometheus, "data"), PrometheusResource.DataDirectory);
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
