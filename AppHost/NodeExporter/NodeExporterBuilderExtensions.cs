using CloudApp.AppHost;
using CloudApp.AppHost.Kubernetes;

namespace Aspire.Hosting;

public static class NodeExporterBuilderExtensions
{
    /// <summary>The image's facts (port, user): its record in deploy/images.json.</summary>
    public static ImageRecord Record => ImageRecords.Current.NodeExporter;

    public static int Port => Record.Port;

    /// <summary>The host's folders node-exporter reads, mounted read-only where its arguments point.</summary>
    public static IReadOnlyList<HostMount> HostMounts { get; } =
    [
        new("proc", "/proc", "/host/proc"),
        new("sys", "/sys", "/host/sys"),
        new("root", "/", "/host/root"),
    ];

    /// <summary>The command line, wherever it runs (AppHost, container tests, Kubernetes).</summary>
    public static IReadOnlyList<string> Arguments =>
    [
        "--path.procfs=/host/proc", "--path.sysfs=/host/sys", "--path.rootfs=/host/root", $"--web.listen-address=:{Port}",
        "--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|var/lib/docker/.+|var/lib/kubelet/.+)($|/)",
    ];

    /// <summary>
    /// Adds Prometheus' node-exporter: the host's CPU, memory, disk and network (the lab's cpu, mem, disk and
    /// bandwidth rates). It reads the host's /proc, /sys and root file system, mounted read-only: bind mounts in
    /// local runs, a DaemonSet with host mounts, host network and host PID namespace on every Kubernetes node.
    /// </summary>
    public static IResourceBuilder<ContainerResource> AddNodeExporter(this IDistributedApplicationBuilder builder, string name, ImageReference image)
    {
        var exporter = builder.AddContainer(name, image.Image, image.Tag)
            .WithImageRegistry(image.Registry)
            .WithHttpEndpoint(targetPort: Port, name: KubernetesWorkload.EndpointName)
            .WithArgs([.. Arguments])
            .WithKubernetes(k =>
            {
                k.Component = "node-metrics";
                k.RunAsUser = Record.User;
                k.Resources = new("50m", "250m", "32Mi", "128Mi");
                k.Probes = new(Liveness: "/", Readiness: "/", Startup: "/");
                // No scrape annotation: Prometheus' node-exporter job finds the exporter's port on every node (and so reuses a
                // node-exporter the cluster already runs there instead of this one).
                k.NodeAgent = new NodeAgent("cloudapp-system", HostMounts);
            });
        if (builder.ExecutionContext.IsRunMode)
        {
            foreach (var mount in HostMounts)
            {
                exporter.WithBindMount(mount.HostPath, mount.MountPath, isReadOnly: true);
            }
            exporter.WithHttpHealthCheck("/", endpointName: KubernetesWorkload.EndpointName);
        }
        return exporter;
    }
}
