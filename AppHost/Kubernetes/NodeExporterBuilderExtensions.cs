using CloudApp.AppHost;
using CloudApp.AppHost.Kubernetes;

namespace Aspire.Hosting;

public static class NodeExporterBuilderExtensions
{
    /// <summary>
    /// Adds Prometheus' node-exporter as a node agent: in Kubernetes a DaemonSet with the host's /proc, /sys and
    /// root file system mounted read-only, on the host network, its pods annotated for scraping.
    /// </summary>
    public static IResourceBuilder<ContainerResource> AddNodeExporter(this IDistributedApplicationBuilder builder, string name, ImageReference image) =>
        builder.AddContainer(name, image.Image, image.Tag)
            .WithImageRegistry(image.Registry)
            .WithHttpEndpoint(targetPort: 9100, name: KubernetesWorkload.EndpointName)
            .WithArgs("--path.procfs=/host/proc", "--path.sysfs=/host/sys", "--path.rootfs=/host/root",
                "--web.listen-address=:9100",
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
}
