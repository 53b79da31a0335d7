using CloudApp.AppHost;
using CloudApp.AppHost.Kubernetes;
using CloudApp.AppHost.NodeExporter;

namespace Aspire.Hosting;

public static class NodeExporterBuilderExtensions
{
    /// <summary>
    /// Adds Prometheus' node-exporter: the host's CPU, memory, disk and network (the lab's cpu, mem, disk and
    /// bandwidth rates). It reads the host's /proc, /sys and root file system, mounted read-only: bind mounts in
    /// local runs, a DaemonSet with host mounts, host network and host PID namespace on every Kubernetes node.
    /// <paramref name="port"/> publishes it on that host port too (none: a port the engine picks).
    /// </summary>
    public static IResourceBuilder<NodeExporterResource> AddNodeExporter(
        this IDistributedApplicationBuilder builder, string name, ImageReference image, int? port = null)
    {
        var exporter = builder.AddResource(new NodeExporterResource(name))
            .WithImage(image.Image, image.Tag)
            .WithImageRegistry(image.Registry)
            .WithHttpEndpoint(port: port, targetPort: NodeExporterResource.Port, name: NodeExporterResource.HttpEndpointName)
            .WithArgs([.. NodeExporterResource.Arguments])
            .WithKubernetes(k =>
            {
                k.Component = "node-metrics";
                k.RunAsUser = NodeExporterResource.Record.User;
                k.Probes = new(Liveness: "/", Readiness: "/", Startup: "/");
                // No scrape annotation: Prometheus' node-exporter job finds the exporter's port on every node (and so reuses a
                // node-exporter the cluster already runs there instead of this one).
                k.NodeAgent = new NodeAgent(NodeExporterResource.HostMounts);
            });
        if (builder.ExecutionContext.IsRunMode)
        {
            foreach (var mount in NodeExporterResource.HostMounts)
            {
                exporter.WithBindMount(mount.HostPath, mount.MountPath, isReadOnly: true);
            }
            exporter.WithHttpHealthCheck("/", endpointName: NodeExporterResource.HttpEndpointName);
        }
        return exporter;
    }
}
