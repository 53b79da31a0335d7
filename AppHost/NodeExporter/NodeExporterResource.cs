using CloudApp.AppHost.Kubernetes;

namespace CloudApp.AppHost.NodeExporter;

/// <summary>Prometheus' node-exporter run from a container image: the metrics of the host it runs on.</summary>
public sealed class NodeExporterResource(string name) : ContainerResource(name)
{
    public const string HttpEndpointName = KubernetesWorkload.EndpointName;

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
}
