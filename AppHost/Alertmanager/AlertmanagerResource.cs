namespace CloudApp.AppHost.Alertmanager;

/// <summary>An Alertmanager run from a container image, configured from deploy/alertmanager/alertmanager.yml.</summary>
public sealed class AlertmanagerResource(string name) : ContainerResource(name)
{
    public const string HttpEndpointName = "http";
    public const int Port = 9093;

    /// <summary>Where the configuration file is mounted inside the container.</summary>
    public const string ConfigFile = "/etc/alertmanager/alertmanager.yml";

    /// <summary>
    /// The command line, wherever it runs. One instance: no gossip cluster to form (an empty listen address turns
    /// clustering off), so alerts are delivered at once instead of after the cluster settles.
    /// </summary>
    public static IReadOnlyList<string> Arguments { get; } =
        [$"--config.file={ConfigFile}", "--storage.path=/alertmanager", "--cluster.listen-address="];
}
