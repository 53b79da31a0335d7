using CloudApp.AppHost;
using CloudApp.AppHost.Kubernetes;

namespace Aspire.Hosting;

public static class NodeExporterBuilderExtensions
{
    public const int Port = 9100;

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
            .WithArgs("--path.procfs=/host/proc", "--path.sysfs=/host/sys", "--path.rootfs=/host/root",
                $"--web.listen-address=:{Port}",
                "--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|var/lib/docker/.+|var/lib/kubelet/.+)($|/)")
            .WithKubernetes(k =>
            {
                k.Component = "node-metrics";
                k.RunAsUser = 65534;
                k.Resources = new("50m", "250m", "32Mi", "128Mi");
                k.Probes = new(Liveness: "/", Readiness: "/", Startup: "/");
                k.Scrape = new("/metrics", ScrapeVia.Pod);
                k.NodeAgent = new NodeAgent("cloudapp-system",
                [
                    new("proc", "/proc", "/host/proc"),
                    new("sys", "/sys", "/host/sys"),
                    new("root", "/", "/host/root"),
                ]);
            });
        if (builder.ExecutionContext.IsRunMode)
        {
            exporter
                .WithBindMount("/proc", "/host/proc", isReadOnly: true)
                .WithBindMount("/sys", "/host/sys", isReadOnly: true)
                .WithBindMount("/", "/host/root", isReadOnly: true)
                .WithHttpHealthCheck("/", endpointName: KubernetesWorkload.EndpointName);
        }
        return exporter;
    }
}
