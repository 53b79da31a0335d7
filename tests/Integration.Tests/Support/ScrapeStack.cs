using System.Text.Json;
using CloudApp.AppHost.Alertmanager;
using CloudApp.AppHost.NodeExporter;
using CloudApp.AppHost.Prometheus;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Configurations;
using DotNet.Testcontainers.Containers;
using DotNet.Testcontainers.Networks;

namespace CloudApp.Integration.Tests.Support;

/// <summary>
/// ComputeApi containers, Alertmanager, node-exporter and Prometheus on one network, as the AppHost runs them:
/// Prometheus with the project's own configuration (deploy/prometheus) and a file_sd list naming the ComputeApi
/// containers as the AppHost writes it, Alertmanager with deploy/alertmanager, node-exporter reading this host's
/// /proc, /sys and root file system read-only.
/// </summary>
public sealed class ScrapeStack : IAsyncDisposable
{
    public static readonly int ComputeApiPort = Repository.Images.Records.RuntimeDeps.Port;
    private static readonly int PrometheusPort = PrometheusResource.Port;

    /// <summary>How long a stack may take to start: images are local, containers start in seconds.</summary>
    public static readonly TimeSpan Startup = TimeSpan.FromMinutes(3);

    /// <summary>How long Prometheus may take to reflect a change in what it scrapes (5 s interval, rule evaluation).</summary>
    public static readonly TimeSpan ScrapeWithin = TimeSpan.FromSeconds(60);

    private readonly INetwork _network;
    private readonly string _targetsDirectory;

    private readonly IReadOnlyList<IContainer> _monitoring;

    private ScrapeStack(INetwork network, string targetsDirectory, IReadOnlyList<IContainer> computeApis, IContainer prometheus, IContainer alertmanager,
        IReadOnlyList<IContainer> monitoring)
    {
        _network = network;
        _targetsDirectory = targetsDirectory;
        _monitoring = monitoring;
        ComputeApis = computeApis;
        Prometheus = prometheus;
        PrometheusHttp = new HttpClient { BaseAddress = new Uri($"http://{prometheus.Hostname}:{prometheus.GetMappedPublicPort(PrometheusPort)}") };
        PrometheusApi = new PrometheusApi(PrometheusHttp);
        AlertmanagerHttp = new HttpClient { BaseAddress = new Uri($"http://{alertmanager.Hostname}:{alertmanager.GetMappedPublicPort(AlertmanagerPort)}") };
    }

    public IReadOnlyList<IContainer> ComputeApis { get; }
    public IContainer Prometheus { get; }
    public HttpClient PrometheusHttp { get; }
    public PrometheusApi PrometheusApi { get; }
    public HttpClient AlertmanagerHttp { get; }

    /// <summary>The <c>instance</c> label Prometheus gives ComputeApi container <paramref name="index"/>.</summary>
    public static string Instance(int index) => $"{Alias(index)}:{ComputeApiPort}";

    public HttpClient ComputeApiClient(int index) =>
        new() { BaseAddress = new Uri($"http://{ComputeApis[index].Hostname}:{ComputeApis[index].GetMappedPublicPort(ComputeApiPort)}") };

    /// <param name="image">The ComputeApi image.</param>
    /// <param name="replicas">ComputeApi containers, reachable as computeapi-0, computeapi-1, ...</param>
    /// <param name="cancellationToken">Bounds the start.</param>
    /// <param name="computeApiSettings">Environment of the ComputeApi containers (e.g. Compute__QueueLimit).</param>
    /// <param name="prometheusConfig">Another Prometheus configuration instead of deploy/prometheus/prometheus.yml.</param>
    /// <param name="targets">Writes the file_sd lists instead of the one naming the ComputeApi containers.</param>
    public static async Task<ScrapeStack> StartAsync(
        ComputeApiImage image, int replicas, CancellationToken cancellationToken,
        IReadOnlyDictionary<string, string>? computeApiSettings = null, string? prometheusConfig = null,
        Action<string>? targets = null)
    {
        var network = new NetworkBuilder().WithName($"cloudapp-test-{Guid.NewGuid():N}").Build();
        await network.CreateAsync(cancellationToken);

        var computeApis = Enumerable.Range(0, replicas).Select(i => ComputeApiContainer(image, network, i, computeApiSettings)).ToList();
        await Task.WhenAll(computeApis.Select(c => c.StartAsync(cancellationToken)));

        // Readable by Prometheus' unprivileged user: a plain directory, not a private temp one.
        var targetsDirectory = Path.Combine(Path.GetTempPath(), $"cloudapp-targets-{Guid.NewGuid():N}");
        Directory.CreateDirectory(targetsDirectory);
        if (targets is not null)
        {
            targets(targetsDirectory);
        }
        else
        {
            var groups = Enumerable.Range(0, replicas)
                .Select(i => new TargetGroup([Instance(i)], new Dictionary<string, string> { ["replica"] = Alias(i) }))
                .ToList();
            await File.WriteAllTextAsync(Path.Combine(targetsDirectory, "computeapi.json"),
                JsonSerializer.Serialize<IReadOnlyList<TargetGroup>>(groups, TargetsJson.Default.IReadOnlyListTargetGroup), cancellationToken);
        }

        var alertmanager = AlertmanagerContainer(network);
        var nodeExporter = NodeExporterContainer(network);
        await Task.WhenAll(alertmanager.StartAsync(cancellationToken), nodeExporter.StartAsync(cancellationToken));

        var prometheus = PrometheusContainer(network, prometheusConfig ?? Path.Combine(Repository.PrometheusConfig, "prometheus.yml"), targetsDirectory);
        await prometheus.StartAsync(cancellationToken);

        return new ScrapeStack(network, targetsDirectory, computeApis, prometheus, alertmanager, [alertmanager, nodeExporter]);
    }

    private static IContainer ComputeApiContainer(ComputeApiImage image, INetwork network, int index, IReadOnlyDictionary<string, string>? settings) =>
        new ContainerBuilder(image.Image)
            .WithName($"{Alias(index)}-{Guid.NewGuid():N}")
            .WithNetwork(network)
            .WithNetworkAliases(Alias(index))
            .WithPortBinding(ComputeApiPort, assignRandomHostPort: true)
            .WithEnvironment("OTEL_SERVICE_NAME", "computeapi")
            .WithEnvironment(settings ?? new Dictionary<string, string>())
            .WithWaitStrategy(Wait.ForUnixContainer().UntilHttpRequestIsSucceeded(r => r.ForPort((ushort)ComputeApiPort).ForPath("/health")))
            .Build();

    // Alertmanager and node-exporter are found by the names deploy/prometheus/prometheus.yml gives them, as on the
    // AppHost's container network.
    private static IContainer AlertmanagerContainer(INetwork network) =>
        Alertmanager("alertmanager").WithNetwork(network).WithNetworkAliases("alertmanager").Build();

    /// <summary>
    /// Alertmanager with the project's configuration file, or the folder <paramref name="configFolder"/> mounted where
    /// the file's folder is (as Kubernetes mounts its ConfigMap), its API on a random host port, started once ready.
    /// </summary>
    public static ContainerBuilder Alertmanager(string name, string? configFolder = null) =>
        new ContainerBuilder(Repository.Images.Alertmanager.ToString())
            .WithName($"{name}-{Guid.NewGuid():N}")
            .WithPortBinding(AlertmanagerPort, assignRandomHostPort: true)
            .WithBindMount(configFolder ?? Repository.AlertmanagerConfig,
                configFolder is null ? AlertmanagerResource.ConfigFile : Path.GetDirectoryName(AlertmanagerResource.ConfigFile)!, AccessMode.ReadOnly)
            .WithCommand([.. AlertmanagerResource.Arguments])
            .WithWaitStrategy(Wait.ForUnixContainer().UntilHttpRequestIsSucceeded(r => r.ForPort((ushort)AlertmanagerPort).ForPath("/-/ready")));

    /// <summary>The API port of an <see cref="Alertmanager"/> container.</summary>
    public static readonly int AlertmanagerPort = AlertmanagerResource.Port;

    private static IContainer NodeExporterContainer(INetwork network) =>
        NodeExporterResource.HostMounts
            .Aggregate(new ContainerBuilder(Repository.Images.NodeExporter.ToString()),
                (container, mount) => container.WithBindMount(mount.HostPath, mount.MountPath, AccessMode.ReadOnly))
            .WithName($"node-exporter-{Guid.NewGuid():N}")
            .WithNetwork(network)
            .WithNetworkAliases("node-exporter")
            .WithCommand([.. NodeExporterResource.Arguments])
            .Build();

    private static IContainer PrometheusContainer(INetwork network, string configuration, string targetsDirectory) =>
        new ContainerBuilder(Repository.Images.Prometheus.ToString())
            .WithName($"prometheus-{Guid.NewGuid():N}")
            .WithNetwork(network)
            .WithPortBinding(PrometheusPort, assignRandomHostPort: true)
            .WithBindMount(configuration, PrometheusResource.ConfigFile, AccessMode.ReadOnly)
            .WithBindMount(Path.Combine(Repository.PrometheusConfig, "rules"), PrometheusResource.RulesDirectory, AccessMode.ReadOnly)
            .WithBindMount(targetsDirectory, PrometheusResource.TargetsDirectory, AccessMode.ReadOnly)
            .WithCommand([.. PrometheusResource.Arguments])
            .WithWaitStrategy(Wait.ForUnixContainer().UntilHttpRequestIsSucceeded(r => r.ForPort((ushort)PrometheusPort).ForPath("/-/ready")))
            .Build();

    public async ValueTask DisposeAsync()
    {
        PrometheusHttp.Dispose();
        AlertmanagerHttp.Dispose();
        await Prometheus.DisposeAsync();
        foreach (var container in _monitoring) await container.DisposeAsync();
        foreach (var container in ComputeApis) await container.DisposeAsync();
        await _network.DeleteAsync();
        await _network.DisposeAsync();
        Directory.Delete(_targetsDirectory, recursive: true);
    }

    public static string Alias(int index) => $"computeapi-{index}";
}
