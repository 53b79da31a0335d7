namespace CloudApp.AppHost.Alertmanager;

/// <summary>An Alertmanager run from a container image, configured from deploy/alertmanager/alertmanager.yml.</summary>
public sealed class AlertmanagerResource(string name) : ContainerResource(name)
{
    public const string HttpEndpointName = "http";
    public const int Port = 9093;

    /// <summary>Where the configuration file is mounted inside the container.</summary>
    public const string ConfigFile = "/etc/alertmanager/alertmanager.yml";

    /// <summary>Silences and the notification log: a named volume in local runs, an emptyDir or a claim in Kubernetes.</summary>
    public const string StorageDirectory = "/alertmanager";

    /// <summary>
    /// The command line, wherever it runs. One instance: no gossip cluster to form (an empty listen address turns
    /// clustering off), so alerts are delivered at once instead of after the cluster settles.
    /// </summary>
    public static IReadOnlyList<string> Arguments { get; } =
        [$"--config.file={ConfigFile}", $"--storage.path={StorageDirectory}", "--cluster.listen-address="];
}
