using YamlDotNet.RepresentationModel;

namespace CloudApp.AppHost.Prometheus;

/// <summary>A Prometheus server run from a container image, configured from files under deploy/prometheus.</summary>
public sealed class PrometheusResource(string name) : ContainerResource(name)
{
    public const string HttpEndpointName = "http";

    /// <summary>The image's facts (port, user, folders): its record in deploy/images.json.</summary>
    public static ImageRecord Record => ImageRecords.Current.Prometheus;

    public static int Port => Record.Port;

    /// <summary>
    /// Where the configuration file is mounted inside the container: in a folder of its own below the image's
    /// configuration folder, which Kubernetes mounts whole so that an updated ConfigMap reaches the running server.
    /// </summary>
    public static string ConfigFile => $"{Record.Path("config")}/config/prometheus.yml";

    /// <summary>Where the rules folder is mounted; the configuration loads every file of it.</summary>
    public static string RulesDirectory => $"{Record.Path("config")}/rules";

    /// <summary>The TSDB's folder: a named volume in local runs, an emptyDir or a claim in Kubernetes.</summary>
    public static string DataDirectory => Record.Path("data");

    /// <summary>Where the file-based service discovery reads its target lists inside the container.</summary>
    public static string TargetsDirectory => $"{Record.Path("config")}/targets";

    /// <summary>How often Prometheus looks for changed configuration and rule files (declared before its use below).</summary>
    public static readonly TimeSpan AutoReloadInterval = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The command line, wherever it runs (AppHost, container tests, Kubernetes). extra-scrape-metrics adds
    /// <c>scrape_timeout_seconds</c>, which the scrape-near-timeout alert compares against; auto-reload-config makes
    /// Prometheus check its configuration and rule files every <see cref="AutoReloadInterval"/> and apply a change
    /// in place (an edited rule locally, an updated ConfigMap in Kubernetes) without losing its state.
    /// </summary>
    public static IReadOnlyList<string> Arguments =>
    [
        // Retention by age only (0B: no size bound) unless a deployment bounds it by size as well.
        $"--config.file={ConfigFile}", $"--storage.tsdb.path={DataDirectory}", "--storage.tsdb.retention.time=2d", "--storage.tsdb.retention.size=0B",
        "--enable-feature=extra-scrape-metrics,auto-reload-config", $"--config.auto-reload-interval={AutoReloadInterval.TotalSeconds:0}s",
    ];

    /// <summary>The global scrape interval and timeout of a configuration file, as written there (<c>15s</c>, <c>10s</c>).</summary>
    public static (string Interval, string Timeout) ScrapeTimings(string configFile)
    {
        var stream = new YamlStream();
        using (var reader = new StringReader(File.ReadAllText(configFile)))
        {
            stream.Load(reader);
        }
        var global = (YamlMappingNode)((YamlMappingNode)stream.Documents[0].RootNode)[new YamlScalarNode("global")];
        return (global[new YamlScalarNode("scrape_interval")].ToString(), global[new YamlScalarNode("scrape_timeout")].ToString());
    }

    private EndpointReference? _httpEndpoint;

    public EndpointReference HttpEndpoint => _httpEndpoint ??= new(this, HttpEndpointName);
}
