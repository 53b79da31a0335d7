namespace CloudApp.AppHost.Alertmanager;

/// <summary>An Alertmanager run from a container image, configured from deploy/alertmanager/alertmanager.yml.</summary>
public sealed class AlertmanagerResource(string name) : ContainerResource(name)
{
    public const string HttpEndpointName = "http";

    /// <summary>The image's facts (port, user, folders): its record in deploy/images.json.</summary>
    public static ImageRecord Record => ImageRecords.Current.Alertmanager;

    public static int Port => Record.Port;

    /// <summary>Where the configuration file is mounted inside the container: where the image reads it by default.</summary>
    public static string ConfigFile => $"{Record.Path("config")}/alertmanager.yml";

    /// <summary>Silences and the notification log: a named volume in local runs, an emptyDir or a claim in Kubernetes.</summary>
    public static string StorageDirectory => Record.Path("data");

    /// <summary>
    /// The command line, wherever it runs. One instance: no gossip cluster to form (an empty listen address turns
    /// clustering off), so alerts are delivered at once instead of after the cluster settles.
    /// </summary>
    public static IReadOnlyList<string> Arguments =>
        [$"--config.file={ConfigFile}", $"--storage.path={StorageDirectory}", "--cluster.listen-address="];
}
